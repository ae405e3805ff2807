"""
ParlAI's regression tests of the SODA teachers (``parlai.utils.testing.AutoTeacherTest``).

Each class runs its task on ``train:stream:ordered``, ``valid:stream`` and ``test:stream`` and
compares the first five acts, ``num_episodes`` and ``num_examples`` with the ``.yml`` files in
``test/`` next to this file. The data is the bundled sample (``parlai_prosocial/samples/soda``),
found through ``$SODA_DATA_DIR`` (the repository's ``conftest.py``). In training the narrative and
instruction drops are on with their default rates and seed, so the train files also pin the seeded
drop decisions.

Regenerate the files after an intended change with ``pytest <this file> --force-regen`` and read
the diff.
"""

from parlai.utils.testing import AutoTeacherTest


class TestDefaultTeacher(AutoTeacherTest):
    task = 'soda'


class TestDialogueTeacher(AutoTeacherTest):
    task = 'soda:dialogue'


class TestHeadRelationTailValidated(AutoTeacherTest):
    task = 'soda:soda_validated=head_relation_tail'
