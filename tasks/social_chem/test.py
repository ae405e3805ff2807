"""
ParlAI's regression tests of the Social Chemistry 101 teacher (``AutoTeacherTest``) on the
hand-written sample (``parlai_prosocial/samples/social_chem``), which the root ``conftest.py``
writes and points ``$SOCIAL_CHEM_DATA_DIR`` at. Regenerate after an intended change with
``--force-regen``.
"""

from parlai.utils.testing import AutoTeacherTest


class TestDefaultTeacher(AutoTeacherTest):
    task = 'social_chem'


class TestAttributesAndRot(AutoTeacherTest):
    task = 'social_chem:social_chem_target=attributes_and_rot'
