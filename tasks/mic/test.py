"""
ParlAI's regression tests of the MIC teacher (``AutoTeacherTest``) on the hand-written sample
(``parlai_prosocial/samples/mic``), which the root ``conftest.py`` writes and points
``$MIC_DATA_DIR`` at.
Regenerate after an intended change with ``--force-regen``.
"""

from parlai.utils.testing import AutoTeacherTest


class TestDefaultTeacher(AutoTeacherTest):
    task = 'mic'
