"""
Bad input through the real ``parlai`` command: one line per error (``<ErrorClass>: <file>:
<row or field>: <what> ... expected ...``), exit status 1, no traceback (unless ``--debug`` or
``PARLAI_PROSOCIAL_TRACEBACK=1``), and nothing done before the error (no episode shown, no
model trained). The full case table runs at reader level in ``test_readers_bad_input.py``.
"""

import json
import os

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
    for args, env in [(['--debug'], {}), ([], {'PARLAI_PROSOCIAL_TRACEBACK': '1'})]:
        result = run(
            run_parlai,
            ['display_data', '-t', 'prosocial', '--prosocial-data-dir', directory] + args,
            tmp_path,
            env,
        )
        assert result.returncode == 1
        assert 'Traceback' in result.stderr
        # ParlAI's loader no longer builds the teacher inside its `except AttributeError`
        assert 'AttributeError' not in result.stderr
        assert 'During handling of the above exception' not in result.stderr


def test_repeated_topical_chat_conversation(run_parlai, tmp_path):
    directory = write_sample('topical_chat', tmp_path / 'tc')
    data = read_sample_file('topical_chat', 'valid_freq.json')
    first = next(iter(data))
    body = json.dumps(data[first])
    path = os.path.join(directory, 'valid_freq.json')
    with open(path, 'w', encoding='utf-8') as f:
        f.write('{' + f'"{first}": {body}, "{first}": {body}' + '}')
    result = run(
        run_parlai,
        ['display_data', '-t', 'topical_chat', '-dt', 'valid']
        + ['--topical-chat-data-dir', directory],
        tmp_path,
    )
    assert_one_line(
        result,
        f"TopicalChatDataError: {path}: conversation {first} appears twice (the file's object "
        'repeats the id); expected each conversation id once',
    )


@pytest.mark.parametrize(
    'args, env, expected',
    [
        (
            ['-t', 'prosocial,prosocial:safety', '--multitask-weights', '1,-1'],
            {},
            'ProsocialOptionError: --multitask-weights 1,-1: a negative weight (-1); expected '
            'every weight >= 0',
        ),
        (
            ['-t', 'prosocial'],
            {'PROSOCIAL_DATA_DIR': ''},
            "ProsocialOptionError: --prosocial-data-dir is empty ('', from the command line or "
            '$PROSOCIAL_DATA_DIR): expected the directory holding the data files; unset '
            '$PROSOCIAL_DATA_DIR and leave the option out to download them',
        ),
        (
            ['-t', 'soda', '--soda-chunk-rows', '0'],
            {},
            "ProsocialOptionError: --soda-chunk-rows is '0': expected a whole number >= 1",
        ),
    ],
    ids=['negative weight', 'empty environment variable', 'chunk size 0'],
)
def test_bad_options(run_parlai, tmp_path, args, env, expected):
    result = run(run_parlai, ['display_data'] + args + ['--datapath', str(tmp_path)], tmp_path, env)
    assert_one_line(result, expected)
    assert not os.path.exists(tmp_path / 'prosocial_dialog')  # no download started


def test_train_checks_valid_before_training(run_parlai, tmp_path):
    directory = write_sample('prosocial', tmp_path / 'data')
    valid = os.path.join(directory, 'valid.json')
    with open(valid, 'w') as f:
        f.write('{"broken": ')
    model_file = str(tmp_path / 'model')
    result = run(
        run_parlai,
        ['train_model', '-t', 'prosocial', '--prosocial-data-dir', directory, '-m',
         'repeat_label', '-mf', model_file, '--num-epochs', '1'],
        tmp_path,
    )
    assert_one_line(
        result,
        f'ProsocialDataError: {valid}: line 1: not valid JSON (Expecting value at column 12); '
        'the file ends too early: is it truncated?',
    )
    output = result.stdout + result.stderr
    assert 'training...' not in output and not os.path.exists(model_file + '.trainstats')
