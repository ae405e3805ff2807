"""
ParlAI's regression tests of the Topical-Chat teacher (``parlai.utils.testing.AutoTeacherTest``).

Each class runs its task on ``train:stream:ordered``, ``valid:stream`` and ``test:stream`` and
compares the first five acts, ``num_episodes`` and ``num_examples`` with the ``.yml`` files in
``test/`` next to this file. The data is the hand-written sample
(``parlai_prosocial/samples/topical_chat``), which the repository's ``conftest.py`` writes to a
temporary directory and points ``$TOPICAL_CHAT_DATA_DIR`` at. The messages are checked one by one
in ``tests/test_topical_chat.py``.

Regenerate the files after an intended change with ``pytest <this file> --force-regen`` and read
the diff.
"""

from parlai.utils.testing import AutoTeacherTest


class TestDefaultTeacher(AutoTeacherTest):
    task = 'topical_chat'


class TestAgent1Speaker(AutoTeacherTest):
    # ParlAI sets `opt[key] = value` for each `key=value` part of the task name
    task = 'topical_chat:topical_chat_speaker=agent_1'


class TestBothSpeakers(AutoTeacherTest):
    task = 'topical_chat:topical_chat_speaker=both'


class TestRareEvalSet(AutoTeacherTest):
    task = 'topical_chat:topical_chat_eval_set=rare'
