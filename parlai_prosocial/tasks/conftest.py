"""
Data for ParlAI's regression tests (``AutoTeacherTest``) in the ``test.py`` of every task here.

Those tests parse their own options, so each task finds its bundled sample through the environment
variable that is the default of its ``--<task>-data-dir`` option; the samples are written once per
session in each task's exact upstream schema.
"""

import pytest

from parlai_prosocial.tasks.prosocial import build as prosocial_build
from parlai_prosocial.tasks.prosocial import sample as prosocial_sample
from parlai_prosocial.tasks.soda import build as soda_build
from parlai_prosocial.tasks.soda import sample as soda_sample
from parlai_prosocial.tasks.topical_chat import build as topical_chat_build
from parlai_prosocial.tasks.topical_chat import sample as topical_chat_sample
from parlai_prosocial.tasks.toxichat import build as toxichat_build
from parlai_prosocial.tasks.toxichat import sample as toxichat_sample

#: environment variable -> the function writing that task's sample into a directory
SAMPLE_WRITERS = {
    prosocial_build.DATA_DIR_ENV: prosocial_sample.write_sample,
    soda_build.DATA_DIR_ENV: soda_sample.write_sample,
    topical_chat_build.DATA_DIR_ENV: topical_chat_sample.write_sample,
    toxichat_build.DATA_DIR_ENV: toxichat_sample.write_sample,
}


@pytest.fixture(scope='session')
def task_sample_dirs(tmp_path_factory):
    return {
        env_var: str(write(tmp_path_factory.mktemp(env_var.lower())))
        for env_var, write in SAMPLE_WRITERS.items()
    }


@pytest.fixture(autouse=True)
def task_samples_in_environment(task_sample_dirs, tmp_path_factory, monkeypatch):
    # read when a teacher adds its command line arguments, i.e. inside each test
    for env_var, directory in task_sample_dirs.items():
        monkeypatch.setenv(env_var, directory)
    monkeypatch.setenv(soda_build.CACHE_DIR_ENV, str(tmp_path_factory.getbasetemp() / 'soda_cache'))
