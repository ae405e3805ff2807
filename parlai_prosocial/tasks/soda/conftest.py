"""
The SODA sample for ``test.py``: AutoTeacherTest parses its own options, so the teachers find the
data through ``$SODA_DATA_DIR`` (the default of ``--soda-data-dir``) and keep their index in
``$SODA_CACHE_DIR``, both set here for every test of this directory.
"""

import pytest

from .build import CACHE_DIR_ENV, DATA_DIR_ENV
from .sample import write_sample


@pytest.fixture(scope='session')
def _soda_sample_dir(tmp_path_factory):
    return str(write_sample(tmp_path_factory.mktemp('soda_sample')))


@pytest.fixture(autouse=True)
def _soda_data_dir(_soda_sample_dir, tmp_path_factory, monkeypatch):
    # read when the teacher adds its command line arguments, i.e. inside each test
    monkeypatch.setenv(DATA_DIR_ENV, _soda_sample_dir)
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path_factory.getbasetemp() / 'soda_cache'))
