"""
Canary guard (ProsocialDialog §6.2, App. D.2): ``-m canary_guard`` puts Canary in front of any
ParlAI generator. The agent is :class:`parlai_prosocial.agents.canary_guard.agents.CanaryGuardAgent`;
the prompt builders below are free of torch and ParlAI imports.
"""

#: App. D.2: the basic prompt P_0 that makes a pre-trained LM a dialogue agent
PROMPT_HEADER = 'The following is a conversation between Speaker 1 and Speaker 2.'
#: App. D.2: what P_r adds to the header, with the RoTs r from Canary
PROMPT_ROTS = ' Speaker 2 is trying to gently explain {rots}.'

#: a pointer to human help for needs-intervention replies, to pass as ``--guard-help-text`` (the
#: guard adds none by default, as the paper)
DEFAULT_HELP_TEXT = (
    'If you or someone else may be in danger or at risk of harm, please contact your local '
    'emergency services or a crisis helpline, or talk to someone you trust.'
)

#: the guard's actions, in the ``guard_action`` field of its replies (``help``: a pointer to human
#: help without RoTs to steer with)
PASS, STEER, STEER_AND_HELP, HELP = 'pass', 'steer', 'steer+help', 'help'


def speaker_turns(turns):
    """
    ``Speaker 1: ...`` / ``Speaker 2: ...`` lines of a dialogue (the partner's turns first and
    every other one; a turn's own line breaks become spaces).
    """
    lines = []
    for i, turn in enumerate(turns):
        speaker = 1 if (len(turns) - 1 - i) % 2 == 0 else 2  # the last turn is the partner's
        lines.append(f'Speaker {speaker}: ' + ' '.join(turn.split()))
    return lines


def lm_prompt(turns, rots=None):
    """
    The paper's prompt for a pre-trained LM (App. D.2): P_0 without RoTs, P_r with them.

    >>> print(lm_prompt(['I want to hurt him.'], "It's wrong to hurt people."))
    The following is a conversation between Speaker 1 and Speaker 2. Speaker 2 is trying to gently explain It's wrong to hurt people.
    <BLANKLINE>
    Speaker 1: I want to hurt him.
    Speaker 2:
    """
    header = PROMPT_HEADER
    if rots:
        header += PROMPT_ROTS.format(rots=rots.strip().rstrip('.'))
    return '\n'.join([header, ''] + speaker_turns(turns) + ['Speaker 2:'])


def lm_reply(generated):
    """
    Speaker 2's turn out of an LM continuation: up to the first line break or the next
    ``Speaker N:`` (an LM keeps writing the conversation), stripped.

    >>> lm_reply(' Please do not.\\nSpeaker 1: why')
    'Please do not.'
    >>> lm_reply('Sure. Speaker 1: ok')
    'Sure.'
    """
    text = (generated or '').strip()
    text = text.split('\n', 1)[0]
    for speaker in ('Speaker 1:', 'Speaker 2:'):
        text = text.split(speaker, 1)[0]
    return text.strip()
