import os
import subprocess
import sys

import pytest

from parlai_prosocial.tasks.prosocial.sample import write_sample

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='session')
def sample_data_dir(tmp_path_factory):
    """
    The bundled sample written in the HF JSON Lines layout.
    """
    return write_sample(str(tmp_path_factory.mktemp('prosocial_hf')), 'hf')


def _run_parlai(args, cwd, env_extra=None, python=sys.executable, check=True):
    env = dict(os.environ, **(env_extra or {}))
    result = subprocess.run(
        [python, '-m', 'parlai'] + list(args),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f'parlai {" ".join(args)} failed ({result.returncode}):\n{result.stdout[-3000:]}'
            f'\n{result.stderr[-3000:]}'
        )
    return result


@pytest.fixture
def run_parlai():
    """
    Run the stock ``parlai`` command (``python -m parlai ARGS``) in a new process, as a user does;
    a failure shows the command's output.
    """
    return _run_parlai
