"""
The ToxiChat sample for the regression tests next to this file.

``AutoTeacherTest`` parses its own options, so the teachers find the sample through
``$TOXICHAT_DATA_DIR``, the default of ``--toxichat-data-dir``, set for every test here.
"""

import pytest

from .build import DATA_DIR_ENV
from .sample import write_sample


@pytest.fixture(scope='session')
def toxichat_sample_dir(tmp_path_factory):
    return write_sample(tmp_path_factory.mktemp('toxichat_sample'))


@pytest.fixture(autouse=True)
def _toxichat_data_dir(toxichat_sample_dir, monkeypatch):
    # read when the teacher adds its command line arguments, i.e. inside each test
    monkeypatch.setenv(DATA_DIR_ENV, toxichat_sample_dir)
