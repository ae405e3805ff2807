"""
``python -m parlai_prosocial.offline_data DIR``: the data the tiny presets need, written offline,
and the export lines that make the ``parlai`` command find it (run in this process).
"""

import importlib
import os
import shlex
import subprocess
import sys

from parlai.core.opt import Opt

from parlai_prosocial.offline_data import THREADS_ENV, TINY_T5_ENV
from parlai_prosocial.samples import TASKS
from parlai_prosocial.testing import parlai_in_process


def test_the_command_writes_what_the_tiny_presets_read(tmp_path, monkeypatch):
    result = subprocess.run(
        [sys.executable, '-m', 'parlai_prosocial.offline_data', str(tmp_path / 'offline')],
        capture_output=True,
        text=True,
        check=True,
    )
    exports = dict(
        shlex.split(line[len('export '):])[0].split('=', 1) for line in result.stdout.splitlines()
    )
    data_dir_variables = {
        importlib.import_module(f'parlai_prosocial.tasks.{task}.build').DATA_DIR_ENV
        for task in TASKS
    }
    assert set(exports) - {THREADS_ENV} == data_dir_variables | {'PARLAI_DATAPATH', TINY_T5_ENV}
    # the tiny models' thread count, unless the shell has one (the quickstart's speed by hand)
    assert exports.get(THREADS_ENV, os.environ.get(THREADS_ENV)) is not None
    for task in TASKS:  # each sample where its task's variable points
        assert any(os.listdir(os.path.join(str(tmp_path / 'offline'), task))), task
    assert os.path.isfile(os.path.join(exports[TINY_T5_ENV], 'config.json'))
    # every task of the tiny mixtures resolves and reads offline, with nothing but these variables
    tasks = Opt.load_init('prosocial/tiny_prost')['task'].split(',')
    tasks += Opt.load_init('prosocial/tiny_canary')['task'].split(',')
    for name in os.environ:
        if name.endswith('_DATA_DIR'):
            monkeypatch.delenv(name)
    shown = parlai_in_process(
        ['display_data', '-t', ','.join(dict.fromkeys(tasks)), '-n', '200'],
        cwd=str(tmp_path),
        env_extra=exports,
    ).output
    assert 'Downloading' not in shown
    assert 'loaded' in shown and '__casual__' in shown and '__endrots__' in shown


def test_the_tiny_t5_of_the_presets_is_built_once_into_the_datapath(tmp_path):
    from parlai.scripts.train_model import setup_args

    from parlai_prosocial.options import TINY_T5

    def parsed(*extra):
        args = ['-o', 'prosocial/tiny_canary', '--datapath', str(tmp_path), '-mf', 'm']
        return setup_args().parse_args(args + list(extra))

    directory = str(tmp_path / 'models' / 'parlai_prosocial' / 'tiny_t5')
    assert Opt.load_init('prosocial/tiny_cosmo')['t5_model_arch'] == TINY_T5
    assert parsed()['t5_model_arch'] == directory
    weights = os.path.join(directory, 'model.safetensors')
    built = os.stat(weights).st_mtime_ns
    assert parsed()['t5_model_arch'] == directory
    assert os.stat(weights).st_mtime_ns == built  # found, not built again
    # a value given on the command line wins, as for any preset value
    assert parsed('--t5-model-arch', 't5-small')['t5_model_arch'] == 't5-small'
