"""
The Topical-Chat sample for the regression tests next to this file.

``AutoTeacherTest`` parses its own options, so the teachers find the sample through
``$TOPICAL_CHAT_DATA_DIR``, the default of ``--topical-chat-data-dir``, set for every test here.
"""

import pytest

from .build import DATA_DIR_ENV
from .sample import write_sample


@pytest.fixture(scope='session')
def topical_chat_sample_dir(tmp_path_factory):
    return write_sample(tmp_path_factory.mktemp('topical_chat_sample'))


@pytest.fixture(autouse=True)
def _topical_chat_data_dir(topical_chat_sample_dir, monkeypatch):
    # read when the teacher adds its command line arguments, i.e. inside each test
    monkeypatch.setenv(DATA_DIR_ENV, topical_chat_sample_dir)
