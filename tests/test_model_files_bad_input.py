"""
Model files that cannot be read (empty, not a checkpoint, truncated, missing; a ``.opt`` that is
neither JSON nor a pickle of options) are one line naming the file, never a traceback and never
an unsafe second try (``parlai_prosocial.model_files``). (How the command line shows a
ModelFileError, as one line: test_cli_bad_input.py and test_errors_bad_input.py; payloads and
trust: test_safe_loading.py.)
"""

import pickle

import pytest
import torch

from parlai_prosocial import model_files
from parlai_prosocial.errors import ModelFileError


@pytest.mark.parametrize(
    'content, reason',
    [
        (b'', 'EOFError: the file ends too early'),
        (b'not a checkpoint at all', 'Unsupported operand 110'),
    ],
)
def test_unreadable_files(tmp_path, content, reason):
    path = tmp_path / 'model'
    path.write_bytes(content)
    with pytest.raises(ModelFileError) as info:
        model_files.load_checkpoint(str(path), lambda p: pytest.fail('never unsafe'))
    message = str(info.value)
    assert message.startswith(f'{path}: cannot be read as a model file ({reason}); is it '), message
    assert '\n' not in message


def test_truncated_checkpoint(tmp_path):
    path = tmp_path / 'model'
    torch.save({'model': {'weight': torch.zeros(64, 64)}}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError) as info:
        model_files.load_checkpoint(str(path), lambda p: pytest.fail('never unsafe'))
    assert str(info.value).startswith(f'{path}: cannot be read as a model file (')
    assert str(info.value).endswith('is it truncated or not a ParlAI checkpoint?')


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError) as info:
        model_files.load_checkpoint(str(tmp_path / 'nope'), None)
    assert str(info.value) == f'{tmp_path / "nope"}: no such model file'


@pytest.mark.parametrize(
    'content, reason',
    [
        (b'\xff\xfe not text, not a pickle', 'UnpicklingError: invalid load key'),
        (pickle.dumps(['a', 'list']), 'a pickled list, not the dict of a ParlAI .opt'),
        (pickle.dumps({'model': 'x'})[:-3], 'UnpicklingError: pickle data was truncated'),
    ],
)
def test_unreadable_pickled_opt(tmp_path, content, reason):
    path = tmp_path / 'model.opt'
    path.write_bytes(content)
    with pytest.raises(ModelFileError) as info:
        model_files.load_pickled_opt(str(path), lambda p: pytest.fail('never unsafe'))
    message = str(info.value)
    assert message.startswith(f'{path}: cannot be read as an option file ({reason}'), message
    assert '\n' not in message
