"""
Scripts that write results write where the user says (or to a new temporary file), and replace an
existing file, such as a committed results file, only with ``--overwrite``: refused in one line
before any work.
"""

import glob
import hashlib
import os
import runpy
import sys

import pytest

from parlai_prosocial import results

REPO = results.REPO
COMMITTED_STATS = os.path.join(REPO, 'projects', 'prosocial_dialog', 'dataset_stats.json')

#: every script with a --results option (a test below checks the list is complete)
SCRIPTS = sorted(
    os.path.relpath(path, REPO)
    for path in glob.glob(os.path.join(REPO, 'projects', '*', '*', 'reproduce.py'))
    + glob.glob(os.path.join(REPO, 'benchmarks', '*', 'run.py'))
    + [os.path.join(REPO, 'projects', 'prosocial_dialog', 'dataset_stats.py')]
    if "'--results'" in open(path).read() or 'add_output_arguments' in open(path).read()
)


def _digest(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def _run(script, argv, monkeypatch):
    monkeypatch.setattr(sys, 'argv', [script] + argv)
    runpy.run_path(os.path.join(REPO, script), run_name='__main__')


def test_every_results_option_goes_through_the_shared_check():
    assert len(SCRIPTS) >= 8
    for script in SCRIPTS:
        text = open(os.path.join(REPO, script)).read()
        assert "'--results'" not in text, script  # its own option, unchecked
        assert 'add_output_arguments' in text and 'check_output' in text, script


@pytest.mark.parametrize('script', SCRIPTS)
def test_an_existing_results_file_is_refused_before_any_work(script, tmp_path, monkeypatch, capsys):
    existing = tmp_path / 'results.json'
    existing.write_text('{"mine": 1}\n')
    flag = _output_flag(script)
    argv = [flag, str(tmp_path / 'out')] if flag else []
    monkeypatch.setenv('TOXICHAT_DATA_DIR', str(tmp_path))  # the recipes' one required input
    with pytest.raises(SystemExit) as stop:
        _run(script, argv + ['--results', str(existing)], monkeypatch)
    assert stop.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert f'--results {existing} exists' in line and '--overwrite' in line
    assert existing.read_text() == '{"mine": 1}\n'
    assert not (tmp_path / 'out').exists()


def _output_flag(script):
    text = open(os.path.join(REPO, script)).read()
    flags = [flag for flag in ('--out', '--dir') if f"'{flag}'" in text]  # its output folder
    return flags[0] if flags else None


@pytest.mark.parametrize(
    'script',
    [
        script for script in SCRIPTS
        if _output_flag(script)
        and results._committed(os.path.join(REPO, os.path.dirname(script), 'results.json'))
    ],
)
def test_an_output_folder_holding_a_committed_results_file_is_refused(
    script, monkeypatch, capsys, tmp_path
):
    # e.g. --out benchmarks/canary_guard: the run's own results.json would replace the committed one
    folder = os.path.join(REPO, os.path.dirname(script))
    committed = os.path.join(folder, 'results.json')
    before = _digest(committed)
    flag = _output_flag(script)
    monkeypatch.setenv('TOXICHAT_DATA_DIR', str(tmp_path))
    with pytest.raises(SystemExit) as stop:
        _run(script, [flag, folder], monkeypatch)
    assert stop.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert f'{committed} is a committed results file' in line and '--overwrite' in line
    assert _digest(committed) == before


def _dataset_stats(monkeypatch, sample_data_dir):
    """
    ``projects/prosocial_dialog/dataset_stats.py`` as a module, its real rows (``../shared``'s,
    which users do not have) stood in for by the bundled sample's training file: what is tested
    here is where it writes, which does not depend on the rows.
    """
    import importlib.util

    path = os.path.join(REPO, 'projects', 'prosocial_dialog', 'dataset_stats.py')
    spec = importlib.util.spec_from_file_location('dataset_stats', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, 'REAL_ROWS', os.path.join(sample_data_dir, 'train.json'))
    return module


def test_dataset_stats_writes_a_new_file_unless_told(tmp_path, monkeypatch, capsys,
                                                     sample_data_dir):
    committed = _digest(COMMITTED_STATS)
    script = _dataset_stats(monkeypatch, sample_data_dir)
    script.main([])
    output = capsys.readouterr().out
    written = output.strip().splitlines()[-1].removeprefix('written to ')
    assert written != COMMITTED_STATS and os.path.isfile(written)
    assert '| dialogues.train |' in output  # the table is shown
    assert _digest(COMMITTED_STATS) == committed
    # asked: --results PATH --overwrite writes there (a copy of the committed one here)
    target = tmp_path / 'dataset_stats.json'
    target.write_text('old')
    script.main(['--results', str(target), '--overwrite'])
    assert results.load(str(target))['tables'] == results.load(written)['tables']
