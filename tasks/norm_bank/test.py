"""
ParlAI's regression tests of the Commonsense Norm Bank teacher (``AutoTeacherTest``) on the
hand-written sample (``parlai_prosocial/samples/norm_bank``), which the root ``conftest.py`` writes
and points ``$NORM_BANK_DATA_DIR`` at. Regenerate after an intended change with ``--force-regen``.
"""

from parlai.utils.testing import AutoTeacherTest


class TestDefaultTeacher(AutoTeacherTest):
    task = 'norm_bank'


class TestFreeformMode(AutoTeacherTest):
    task = 'norm_bank:norm_bank_mode=freeform'
