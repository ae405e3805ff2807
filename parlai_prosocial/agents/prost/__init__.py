"""
Prost (Prosocial Transformer, Kim et al. 2022, §4.2): ``-m prost``.

The agent is :class:`parlai_prosocial.agents.prost.agents.ProstAgent`. The names below are what
it puts on its messages; they live here, free of torch and ParlAI imports, so the teachers can
read them without loading the model code.
"""

from parlai_prosocial.formats import ROTS_END

#: Message field holding the RoTs the model generated before ``__endrots__`` ('' when none).
ROTS_TEXT_FIELD = 'rots_text'

#: Message field holding, for each of ``beam_texts``, the RoTs of that beam ('' when none).
BEAM_ROTS_FIELD = 'beam_rots_texts'


def split_generated(text):
    """
    ``(rots_text, reply)`` of a *generated* RoT & Response text; ``rots_text`` is '' when none.

    Like :func:`parlai_prosocial.formats.split_rot_response` for well-formed texts. A model may
    also write ``__endrots__`` more than once (a tiny or badly trained one does): the reply is
    what follows the last one, so it never holds the marker, and the RoTs are everything before
    it, markers dropped.
    """
    head, separator, reply = text.rpartition(ROTS_END)
    if not separator:
        return '', text.strip()
    rots = ' '.join(part.strip() for part in head.split(ROTS_END) if part.strip())
    return rots, reply.strip()
