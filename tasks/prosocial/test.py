"""
ParlAI's regression tests of the ProsocialDialog teachers (``parlai.utils.testing.AutoTeacherTest``).

Each class runs its task on ``train:stream:ordered``, ``valid:stream`` and ``test:stream`` and
compares the first five acts, ``num_episodes`` and ``num_examples`` with the ``.yml`` files in
``test/`` next to this file. The data is the bundled sample
(``parlai_prosocial/samples/prosocial``, HF layout), which the repository's ``conftest.py`` writes
to a temporary directory that the teachers find through ``$PROSOCIAL_DATA_DIR`` (the default of
``--prosocial-data-dir``), since AutoTeacherTest parses its own options. That the direct-download
layout gives the very same acts is checked in ``tests/test_prosocial_teachers.py``.

Regenerate the files after an intended change with ``pytest <this file> --force-regen`` and read
the diff.
"""

from parlai.utils.testing import AutoTeacherTest


class TestDefaultTeacher(AutoTeacherTest):
    task = 'prosocial'


class TestResponseTeacher(AutoTeacherTest):
    task = 'prosocial:response'


class TestRotResponseTeacher(AutoTeacherTest):
    task = 'prosocial:rot_response'


class TestSafetyTeacher(AutoTeacherTest):
    task = 'prosocial:safety'


class TestSafetyClassificationTeacher(AutoTeacherTest):
    task = 'prosocial:safety_classification'


class TestSafetyClassificationThreeWayTeacher(AutoTeacherTest):
    # ParlAI sets `opt[key] = value` for each `key=value` part of the task name
    task = 'prosocial:safety_classification:safety_schema=three'


class TestRots(AutoTeacherTest):
    task = 'prosocial:rots'
