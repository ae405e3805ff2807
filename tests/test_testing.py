"""
The suite's own machinery (``parlai_prosocial.testing``), what lets it pass on any machine, from a
fresh clone, beside another run (issue 24 §1): models built once in a directory of the run's own,
the scripted Canary the guard's plumbing is tested with, the check that a trained tiny Canary
reproduces what it was trained on, the real data skipped without it, and the UTF-8 guard.
"""

import os
import subprocess
import sys

import pytest

from parlai_prosocial import testing
from parlai_prosocial.formats import parse_canary_output
from parlai_prosocial.testing.canary import (
    ScriptedCanary,
    check_fits_training,
    load_scripted_canaries,
    safety_examples,
)
from parlai_prosocial.testing.samples import prosocial_dialogues

CAUTION = prosocial_dialogues()['train'][0][0]  # "I'm going to call 911 just for fun tonight."


# --- built once, in the run's own directory ---------------------------------------------------


def test_the_run_directory_is_the_runs_own(tmp_path_factory, monkeypatch):
    # made by the run's controller (conftest.py), inherited by this worker: never in pytest's
    # numbered base temps, which other pytest runs clean up
    run_dir = os.environ[testing.RUN_DIR_ENV]
    assert os.path.isdir(run_dir)
    pytest_temps = tmp_path_factory.getbasetemp()
    while not pytest_temps.name.startswith('pytest-of-'):  # above the numbered ones
        pytest_temps = pytest_temps.parent
    assert os.path.commonpath([run_dir, str(pytest_temps)]) != str(pytest_temps)
    monkeypatch.setenv(testing.RUN_DIR_ENV, run_dir)  # restored after begin_run changes it
    another = testing.begin_run()
    try:
        assert another != run_dir and os.environ[testing.RUN_DIR_ENV] == another
    finally:
        os.rmdir(another)


def test_a_killed_runs_directory_is_removed_when_stale_only(tmp_path, monkeypatch):
    import tempfile
    import time

    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path))
    monkeypatch.setenv(testing.RUN_DIR_ENV, 'restored after the test')
    killed, running = (tmp_path / (testing.RUN_DIR_PREFIX + name) for name in ('a', 'b'))
    for directory in (killed, running):
        (directory / 'tiny_t5').mkdir(parents=True)
    old = time.time() - testing.STALE_RUN_SECONDS - 60
    os.utime(killed, (old, old))
    new = testing.begin_run()
    assert sorted(os.listdir(tmp_path)) == sorted([running.name, os.path.basename(new)])


def test_built_once_builds_once_and_again_after_a_failed_build(tmp_path, monkeypatch):
    monkeypatch.setenv(testing.RUN_DIR_ENV, str(tmp_path / 'run'))
    builds = []

    def build(directory):
        builds.append(directory)
        if len(builds) == 1:
            open(os.path.join(directory, 'half'), 'w').close()
            raise RuntimeError('interrupted')
        return {'model': os.path.join(directory, 'model')}

    with pytest.raises(RuntimeError):
        testing.built_once(None, 'tiny', build)
    first = testing.built_once(None, 'tiny', build)
    assert testing.built_once(None, 'tiny', build) == first  # reused, not built again
    directory = str(tmp_path / 'run' / 'tiny')
    assert builds == [directory, directory]
    assert first == {'model': os.path.join(directory, 'model')}
    assert os.listdir(directory) == []  # the half-way build was cleared first


# --- the scripted Canary ----------------------------------------------------------------------


def test_scripted_canary_decides_by_the_last_turn_and_parses_as_canary():
    canary = ScriptedCanary({'Hi': '__probably_needs_caution__  Be\nkind.'})
    assert canary.classify('Hi') == ('__probably_needs_caution__', 'Be kind.')
    # whatever came before the turn, in any batch, with any seed
    assert canary.classify_batch([['x', 'y', 'Hi'], 'Hello'], seed=3) == [
        ('__probably_needs_caution__', 'Be kind.'), ('__casual__', ''),
    ]
    assert canary.contexts == ['Hi', 'x\ny\nHi', 'Hello']
    three = ScriptedCanary(canary.script, canary_safety_schema='three')
    assert three.classify('Hi') == ('__needs_caution__', 'Be kind.')
    assert ScriptedCanary({}, default='no label').classify('Hi') == ('', 'no label')


def test_scripted_canary_as_trained_answers_each_turn_with_its_target(sample_data_dir):
    canary = ScriptedCanary.as_trained(sample_data_dir)
    for context, target in safety_examples(sample_data_dir, ('train:evalmode', 'valid', 'test')):
        assert canary.classify(context) == parse_canary_output(target), context
    assert canary.classify(['an unseen turn', CAUTION['context']]) == (
        '__needs_caution__', ', '.join(CAUTION['rots'])
    )


def test_the_guard_loads_a_scripted_canary_and_real_ones_as_before(
    tmp_path, monkeypatch, untrained_canary
):
    from parlai.core.agents import create_agent
    from parlai.core.params import ParlaiParser

    from parlai_prosocial.agents.canary.agents import CanaryAgent

    scripted = ScriptedCanary({CAUTION['context']: '__needs_caution__ Be kind.'})
    model_file = scripted.save(str(tmp_path / 'scripted' / 'model'))
    assert ScriptedCanary.load(untrained_canary) is None  # a real model file is not a script
    load_scripted_canaries(monkeypatch)

    def guard(canary_file):
        return create_agent(ParlaiParser(True, True).parse_args(
            ['-m', 'canary_guard', '--canary-model-file', canary_file, '--guarded-model',
             'repeat_query']
        ))

    loaded = guard(model_file).canary
    assert isinstance(loaded, ScriptedCanary) and loaded.script == scripted.script
    assert (loaded.opt['inference'], loaded.opt['topp']) == ('nucleus', 0.9)  # as the guard asks
    assert isinstance(guard(untrained_canary).canary, CanaryAgent)


def test_a_canary_that_does_not_fit_its_training_data_is_one_clear_message(
    untrained_canary, sample_data_dir
):
    with pytest.raises(AssertionError) as error:
        check_fits_training(untrained_canary, sample_data_dir, 'this Canary')
    message = str(error.value)
    assert message.startswith(f'this Canary ({untrained_canary}) does not reproduce its training '
                              'targets')
    assert CAUTION['context'] in message and message.endswith('the fixture that trains it is '
                                                              'broken.')


# --- the real data, and the locale -------------------------------------------------------------


def test_real_data_is_skipped_without_it_and_fails_under_ci(tmp_path, monkeypatch):
    missing = str(tmp_path / 'toxichat')
    monkeypatch.delenv('CI', raising=False)
    with pytest.raises(pytest.skip.Exception, match='is not here'):
        testing.real_data_folder(missing)
    monkeypatch.setenv('CI', 'true')
    with pytest.raises(pytest.fail.Exception, match=f'{missing} is not here'):
        testing.real_data_folder(missing)
    os.mkdir(missing)
    assert testing.real_data_folder(missing) == missing


def test_a_run_in_a_non_utf8_locale_stops_with_one_line(repo_dir, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONUTF8', 'PYTEST_XDIST_WORKER')}
    env.update(LC_ALL='C', PYTHONCOERCECLOCALE='0')  # a locale Python reads as ASCII
    result = subprocess.run(
        [sys.executable, '-X', 'utf8=0', '-m', 'pytest', '-p', 'no:cacheprovider', '--co', '-q',
         os.path.join(repo_dir, 'tests', 'test_layout.py')],
        cwd=repo_dir, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert 'run the tests with PYTHONUTF8=1' in result.stdout + result.stderr
