"""
Bad input through the real ``parlai`` command, in a new process: one line per error
(``<ErrorClass>: <file>: <row or field>: <what> ... expected ...``), exit status 1, no traceback
(unless ``--debug``), and nothing done before the error (no episode shown, no model trained): a
data error found when the teacher is created and an option error found at parse. The full case
table runs at reader level in ``test_readers_bad_input.py``, how an error is shown (the traceback
on request, a worker's error) in ``test_errors_bad_input.py``.
"""

import json
import os
import re

import pytest

from parlai_prosocial.samples import write_sample
from parlai_prosocial.testing.samples import read_sample_file

#: environment without the data-dir variables a developer may have set
CLEAN_ENV = {
    'PROSOCIAL_DATA_DIR': None,
    'TOPICAL_CHAT_DATA_DIR': None,
    'PARLAI_PROSOCIAL_TRACEBACK': None,
}


def run(run_parlai, args, cwd, env=None):
    extra = {k: v for k, v in dict(CLEAN_ENV, **(env or {})).items() if v is not None}
    removed = [k for k, v in dict(CLEAN_ENV, **(env or {})).items() if v is None]
    saved = {k: os.environ.pop(k) for k in removed if k in os.environ}
    try:
        return run_parlai(args, cwd=str(cwd), env_extra=extra, check=False)
    finally:
        os.environ.update(saved)


def error_lines(result):
    """
    stderr without the pinned set's known deprecation noise.
    """
    return [
        line
        for line in result.stderr.splitlines()
        if line.strip() and 'pkg_resources' not in line
    ]


def assert_one_line(result, expected):
    assert result.returncode == 1, (result.returncode, result.stderr[-3000:])
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    assert error_lines(result)[-1] == expected, result.stderr[-3000:]
    assert [line for line in error_lines(result) if 'Error: ' in line] == [expected]
    assert 'NEW EPISODE' not in result.stdout


@pytest.fixture
def cut_hf_dir(tmp_path):
    """
    HF train.json cut at a row boundary inside dialogue 3 (its last row gone).
    """
    directory = write_sample('prosocial', tmp_path / 'data')
    rows = read_sample_file('prosocial', 'train.json')[:-1]
    path = os.path.join(directory, 'train.json')
    with open(path, 'w', encoding='utf-8') as f:
        f.writelines(json.dumps(row) + '\n' for row in rows)
    return directory, path


def test_truncated_dialogue(run_parlai, tmp_path, cut_hf_dir):
    directory, path = cut_hf_dir
    result = run(
        run_parlai,
        ['display_data', '-t', 'prosocial', '--prosocial-data-dir', directory],
        tmp_path,
    )
    assert_one_line(
        result,
        f'ProsocialDataError: {path}: line 7: field "episode_done" is false, but this is the '
        'last turn (turn 0) of dialogue 3: expected true; is the dialogue cut short (a '
        'truncated file)?',
    )


def test_debug_shows_the_traceback_without_the_loader_chain(run_parlai, tmp_path, cut_hf_dir):
    directory, _ = cut_hf_dir
    result = run(
        run_parlai,
        ['display_data', '-t', 'prosocial', '--prosocial-data-dir', directory, '--debug'],
        tmp_path,
    )
    assert result.returncode == 1
    assert 'Traceback' in result.stderr
    # ParlAI's loader no longer builds the teacher inside its `except AttributeError`
    assert 'AttributeError' not in result.stderr
    assert 'During handling of the above exception' not in result.stderr


def test_an_option_error_at_parse_is_one_line_not_the_help(run_parlai, tmp_path):
    result = run(
        run_parlai,
        ['display_data', '-t', 'prosocial,prosocial:safety', '--multitask-weights', '1,-1',
         '--datapath', str(tmp_path)],
        tmp_path,
    )
    assert_one_line(
        result,
        'ProsocialOptionError: --multitask-weights 1,-1: a negative weight (-1); expected '
        'every weight >= 0',
    )
    assert 'usage:' not in result.stdout + result.stderr
    assert not os.path.exists(tmp_path / 'prosocial_dialog')  # no download started


def test_train_checks_valid_before_training(tmp_path):
    # in this process: the command line's one line is the case above
    from parlai_prosocial.errors import ProsocialDataError
    from parlai_prosocial.testing import parlai_in_process

    directory = write_sample('prosocial', tmp_path / 'data')
    valid = os.path.join(directory, 'valid.json')
    with open(valid, 'w') as f:
        f.write('{"broken": ')
    model_file = str(tmp_path / 'model')
    expected = '^' + re.escape(f'{valid}: line 1: not valid JSON')
    with pytest.raises(ProsocialDataError, match=expected):
        parlai_in_process(
            ['train_model', '-t', 'prosocial', '--prosocial-data-dir', directory, '-m',
             'repeat_label', '-mf', model_file, '--num-epochs', '1'],
            cwd=str(tmp_path),
        )
    assert not os.path.exists(model_file + '.trainstats')
