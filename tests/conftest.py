import pytest

from parlai_prosocial import testing
from parlai_prosocial.samples import write_sample


@pytest.fixture(scope='session')
def sample_data_dir(tmp_path_factory):
    """
    The bundled sample written in the HF JSON Lines layout.
    """
    return write_sample('prosocial', tmp_path_factory.mktemp('prosocial_hf'))


@pytest.fixture
def run_parlai():
    """
    :func:`parlai_prosocial.testing.run_parlai`: the stock ``parlai`` command in a new process.
    """
    return testing.run_parlai
