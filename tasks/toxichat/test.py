"""
ParlAI's regression tests of the ToxiChat teachers (``parlai.utils.testing.AutoTeacherTest``).

Each class runs its task on ``train:stream:ordered``, ``valid:stream`` and ``test:stream`` and
compares the first five acts, ``num_episodes`` and ``num_examples`` with the ``.yml`` files in
``test/`` next to this file. The data is the hand-written sample
(``parlai_prosocial/samples/toxichat``), which the repository's ``conftest.py`` writes to a
temporary directory and points ``$TOXICHAT_DATA_DIR`` at. The messages and the metrics are checked
in ``tests/test_toxichat.py``.

Regenerate the files after an intended change with ``pytest <this file> --force-regen`` and read
the diff.
"""

from parlai.utils.testing import AutoTeacherTest


class TestDefaultTeacher(AutoTeacherTest):
    task = 'toxichat'


class TestOffensiveThreads(AutoTeacherTest):
    # ParlAI sets `opt[key] = value` for each `key=value` part of the task name
    task = 'toxichat:thread:toxichat_threads=offensive'


class TestStanceTeacher(AutoTeacherTest):
    task = 'toxichat:stance'


class TestAdjacentStanceTeacher(AutoTeacherTest):
    task = 'toxichat:stance:toxichat_stance_pairs=adjacent'


class TestOffensiveTeacher(AutoTeacherTest):
    task = 'toxichat:offensive'
