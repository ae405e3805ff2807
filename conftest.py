"""
Settings for the whole test suite, set before any test (or subprocess of one) starts; the run's
own directory for the models built once; where the real data is; how the tasks' own ``test.py``
files are imported; their bundled samples.
"""

import codecs
import importlib
import locale
import os
import sys

# Tests never reach a model hub or the network.
for _key in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HF_DATASETS_OFFLINE'):
    os.environ[_key] = '1'

# One torch thread, in-process and in every `parlai` subprocess: tiny models on 2 cores gain
# nothing from a second intra-op thread, and under load the contention made them up to 50x slower
# (measured on the tiny Prost and Canary trainings); one thread also keeps results repeatable.
os.environ['OMP_NUM_THREADS'] = '1'

# Text files are UTF-8 (ours and ParlAI's, read in the locale's encoding in many places): the
# `parlai` subprocesses and the pytest-xdist workers run in Python's UTF-8 mode whatever the
# machine's locale (in an ASCII locale the README's tables and the samples did not read)
os.environ['PYTHONUTF8'] = '1'

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _one_torch_thread_for_the_next_test():
    # a test that runs a script's main() in this process (test_output_paths: a benchmark's
    # --threads 2) must not leave torch's thread count to the tests after it in the same worker:
    # a model's floats depend on it (the ParlAI-only run of test_parlai_fixes differed from stock
    # ParlAI's in every weight, by ~1e-8)
    yield
    torch.set_num_threads(1)


REPO = os.path.dirname(os.path.abspath(__file__))
TASKS_DIR = os.path.join(REPO, 'tasks')
#: the real data for measurement (see its README): beside the repository, never copied into it,
#: never needed by the product; tests that read it are skipped without it (outside CI).
#: $PROSOCIAL_TEST_REAL_DATA_DIR names another folder for the run (e.g. one that does not exist,
#: to run the suite as a user without it does)
REAL_DATA_DIR = os.environ.get('PROSOCIAL_TEST_REAL_DATA_DIR') or os.path.join(
    os.path.dirname(REPO), 'shared', 'data'
)


def pytest_configure(config):
    # tests that run in this process need its UTF-8 mode too (the workers of -n get it above)
    distributed = getattr(config.option, 'dist', 'no') != 'no'
    if not distributed and not sys.flags.utf8_mode and not _locale_is_utf8():
        pytest.exit(
            f'this Python reads text files as {locale.getpreferredencoding(False)} (the locale): '
            'run the tests with PYTHONUTF8=1 (or in a UTF-8 locale, or with -n 2, whose workers '
            'run in UTF-8 mode)', returncode=pytest.ExitCode.USAGE_ERROR,
        )
    # the run's controller (or a run without xdist) makes the run's own directory, where the tiny
    # models are built once for all its workers (they inherit its name), and removes it at the
    # end: pytest's numbered base temps are cleaned up by other pytest runs (a second run of the
    # suite once deleted built_once/tiny_t5 under the first one's feet)
    if not hasattr(config, 'workerinput'):
        import shutil

        from parlai_prosocial import testing

        directory = testing.begin_run()
        config.add_cleanup(lambda: shutil.rmtree(directory, ignore_errors=True))


def _locale_is_utf8():
    return codecs.lookup(locale.getpreferredencoding(False)).name == 'utf-8'


@pytest.fixture(scope='session')
def repo_dir():
    return REPO


@pytest.fixture(scope='session')
def real_data():
    """
    ``real_data('toxichat')``: that folder of ``../shared/data`` (or of
    ``$PROSOCIAL_TEST_REAL_DATA_DIR``). Absent, the test is skipped, saying why; under CI
    (``CI=true``, where the folder is always present) it fails (``testing.real_data_folder``).
    """
    from parlai_prosocial import testing

    return lambda name: testing.real_data_folder(os.path.join(REAL_DATA_DIR, name))


# --- the tasks' own test.py files (ParlAI's AutoTeacherTest) -------------------------------------


class InstalledTaskTestModule(pytest.Module):
    """
    ``tasks/X/test.py`` imported as ``parlai_prosocial.tasks.X.test``, its installed name (setup.py
    maps the top-level ``tasks/`` into the package): pytest's own import would load ``tasks/`` a
    second time, as a top-level ``tasks`` package.
    """

    def _getobj(self):
        relative = os.path.relpath(str(self.path), TASKS_DIR)[: -len('.py')]
        return importlib.import_module('parlai_prosocial.tasks.' + relative.replace(os.sep, '.'))


def pytest_pycollect_makemodule(module_path, parent):
    if os.path.commonpath([str(module_path), TASKS_DIR]) == TASKS_DIR:
        return InstalledTaskTestModule.from_parent(parent, path=module_path)
    return None


@pytest.fixture(scope='session')
def task_sample_dirs(tmp_path_factory):
    """
    Every task's bundled sample, written once per session in its exact upstream schema, by the
    environment variable that is the default of the task's ``--<task>-data-dir`` option.
    """
    from parlai_prosocial.offline_data import write_task_samples
    from parlai_prosocial.tasks.soda.build import CACHE_DIR_ENV

    dirs = write_task_samples(str(tmp_path_factory.mktemp('task_samples')))
    dirs[CACHE_DIR_ENV] = str(tmp_path_factory.getbasetemp() / 'soda_cache')
    return dirs


@pytest.fixture(autouse=True)
def _task_samples_for_task_tests(request):
    # The tasks' AutoTeacherTests parse their own options, so each task finds its sample through
    # the environment; read when a teacher adds its command line arguments, i.e. inside each test.
    if not isinstance(request.node.getparent(pytest.Module), InstalledTaskTestModule):
        return
    monkeypatch = request.getfixturevalue('monkeypatch')
    for env_var, directory in request.getfixturevalue('task_sample_dirs').items():
        monkeypatch.setenv(env_var, directory)
