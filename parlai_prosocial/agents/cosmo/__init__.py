"""
COSMO (SODA paper §4): ``-m cosmo``, a conversation model trained on SODA and ProsocialDialog in
the input format ``narrative <sep> instruction <sep> u1 <turn> u2 ...``.

The agent is :class:`parlai_prosocial.agents.cosmo.agents.CosmoAgent` (model card: ``README.md``
in this folder). The names below are what it reads from messages and what the released chat code
(``chat_with_cosmo.py`` in skywalker023/sodaverse) uses; they live here, free of torch and ParlAI
imports.
"""

from parlai_prosocial.formats import SEP, TURN

#: the released checkpoint on the HF hub (COSMO-3B), the default of ``--t5-model-arch`` for COSMO
RELEASED_MODEL = 'allenai/cosmo-xl'

#: the SODA paper's base model for COSMO-3B (§4: LM-adapted T5, Lester et al. 2021), for training
LM_ADAPTED_T5_3B = 'google/t5-xl-lm-adapt'

#: what the released chat code uses when the user leaves the narrative / instruction empty; the
#: agent uses them in ``parlai interactive`` when ``--cosmo-narrative`` / ``--cosmo-instruction``
#: are not given (see ``--cosmo-narrative``)
CHAT_NARRATIVE = 'Cosmo is having a friendly conversation with a friend.'
CHAT_INSTRUCTION = 'You are Cosmo and you are talking to a friend.'

#: the released chat code's decoding: nucleus sampling, top_p 0.95, temperature 1, at most 128 new
#: tokens
CHAT_TOP_P = 0.95
CHAT_MAX_NEW_TOKENS = 128

#: message fields a teacher (or another agent) can set: the narrative and the instruction of the
#: conversation from this message on (until the episode ends); '' leaves the part out
NARRATIVE_FIELD = 'cosmo_narrative'
INSTRUCTION_FIELD = 'cosmo_instruction'
#: message field with RoTs that steer this one turn (Canary in front of COSMO): the agent adds a
#: ProsocialDialog-style situation built from them to the narrative (App. C)
ROTS_FIELD = 'cosmo_rots'

#: reply field holding the exact text the model read for that reply
INPUT_FIELD = 'cosmo_input'

#: the name COSMO goes by in those situations (``--cosmo-name``): the released chat's name, and the
#: name in App. C's example ("Cosmo is trying to gently convince a friend ...")
DEFAULT_NAME = 'Cosmo'

#: who builds COSMO's input (``--cosmo-formatter``)
FORMATTERS = ('auto', 'agent', 'teacher')


def has_cosmo_markers(text):
    """
    Whether ``text`` already is a COSMO input: it holds a ``<sep>`` or ``<turn>`` marker.

    >>> has_cosmo_markers('A walk. <sep> Imagine you are Ann and speak to Bo <sep> Hi')
    True
    >>> has_cosmo_markers('Hi, how are you?')
    False
    """
    return SEP in (text or '') or TURN in (text or '')
