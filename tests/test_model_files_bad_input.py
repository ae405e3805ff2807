"""
Model files are loaded with torch's ``weights_only`` loading
(``parlai_fixes.safe_checkpoint_loading``, ``parlai_prosocial.model_files``): a checkpoint with a pickled payload is refused with one line
naming it (and the payload never runs), unless the user trusts the file or it was unpacked from a
sha256-checked zoo archive; unreadable files get one line too. (How the command line shows a
ModelFileError, as one line: test_cli_bad_input.py and test_errors_bad_input.py.)
"""

import os

import pytest
import torch

from parlai.core.agents import create_agent, create_agent_from_model_file
from parlai.core.params import ParlaiParser

from parlai_prosocial import model_files, parlai_internals
from parlai_prosocial.errors import ModelFileError
from parlai_prosocial.samples import write_sample


class Payload:
    """
    Unpickling this creates the directory ``marker``: code that runs when the file is loaded.
    """

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


@pytest.fixture(scope='module')
def tiny_model(tmp_path_factory):
    """
    A tiny ``transformer/generator`` saved as ParlAI saves it: (model file, datapath).
    """
    directory = tmp_path_factory.mktemp('tiny_model')
    model_file = str(directory / 'model')
    opt = ParlaiParser(True, True).parse_kwargs(
        model='transformer/generator',
        model_file=model_file,
        dict_file=model_file + '.dict',
        n_layers=1,
        embedding_size=8,
        ffn_size=8,
        n_heads=1,
        datapath=str(directory / 'data'),
        no_cuda=True,
    )
    create_agent(opt).save(model_file)
    return model_file


def copy_model(model_file, target_dir, states_edit=None):
    """
    Copy the tiny model (checkpoint, .opt, .dict) into ``target_dir``, editing its states.
    """
    os.makedirs(target_dir, exist_ok=True)
    target = os.path.join(str(target_dir), 'model')
    for suffix in ('.opt', '.dict'):
        with open(model_file + suffix, 'rb') as f, open(target + suffix, 'wb') as out:
            out.write(f.read())
    states = torch.load(model_file, weights_only=True)
    if states_edit is not None:
        states_edit(states)
    torch.save(states, target)
    return target


def with_payload(marker):
    return lambda states: states.__setitem__('extra', Payload(str(marker)))


def test_the_fix_is_applied_and_fails_closed():
    import parlai.core.torch_agent as torch_agent

    assert getattr(torch_agent.TorchAgent.load, 'parlai_prosocial_safe', False)
    assert 'safe_checkpoint_loading' in parlai_internals.FAIL_CLOSED


def test_a_plain_checkpoint_loads_with_weights_only(tiny_model, tmp_path):
    agent = create_agent_from_model_file(copy_model(tiny_model, tmp_path))
    assert type(agent).__name__ == 'TransformerGeneratorAgent'


def test_a_payload_is_refused_and_never_runs(tiny_model, tmp_path, monkeypatch):
    monkeypatch.delenv(model_files.TRUSTED_ENV, raising=False)
    marker = tmp_path / 'payload_ran'
    model_file = copy_model(tiny_model, tmp_path / 'm', with_payload(marker))
    with pytest.raises(ModelFileError) as info:
        create_agent_from_model_file(model_file)
    message = str(info.value)
    assert message.startswith(f'{model_file}: refused to load: this model file holds more than ')
    assert message.endswith(
        'loading it could run code in it; if you trust the file, allow it with '
        f'PARLAI_PROSOCIAL_TRUSTED_MODEL_FILES={model_file}'
    )
    assert '\n' not in message
    assert not marker.exists()


def test_a_trusted_file_is_loaded_as_parlai_loads_it(tiny_model, tmp_path, monkeypatch):
    marker = tmp_path / 'payload_ran'
    model_file = copy_model(tiny_model, tmp_path / 'm', with_payload(marker))
    monkeypatch.setenv(model_files.TRUSTED_ENV, os.pathsep.join(['/elsewhere', model_file]))
    create_agent_from_model_file(model_file)
    assert marker.exists()  # the user asked for it


def test_a_trusted_directory(tiny_model, tmp_path, monkeypatch):
    model_file = copy_model(tiny_model, tmp_path / 'm', with_payload(tmp_path / 'ran'))
    monkeypatch.setenv(model_files.TRUSTED_ENV, str(tmp_path / 'm'))
    create_agent_from_model_file(model_file)
    assert (tmp_path / 'ran').exists()


def test_files_of_a_checked_zoo_archive_are_trusted(tiny_model, tmp_path):
    datapath = tmp_path / 'data'
    folder = datapath / 'models' / 'some_zoo_entry'
    model_file = copy_model(tiny_model, folder / 'model', with_payload(tmp_path / 'ran'))
    # without the .built marker of a verified download: refused
    assert not model_files.trusted_zoo_file(model_file, str(datapath))
    (folder / '.built').write_text('done\n')
    assert model_files.trusted_zoo_file(model_file, str(datapath))
    # the same file outside datapath/models is not
    assert not model_files.trusted_zoo_file(model_file, str(tmp_path / 'other'))
    states = model_files.load_checkpoint(
        model_file, lambda p: 'unsafe load of ' + p, datapath=str(datapath)
    )
    assert states == 'unsafe load of ' + model_file


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


def test_truncated_checkpoint(tiny_model, tmp_path):
    with open(tiny_model, 'rb') as f:
        data = f.read()
    path = tmp_path / 'model'
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError) as info:
        model_files.load_checkpoint(str(path), lambda p: pytest.fail('never unsafe'))
    assert str(info.value).startswith(f'{path}: cannot be read as a model file (')
    assert str(info.value).endswith('is it truncated or not a ParlAI checkpoint?')


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError) as info:
        model_files.load_checkpoint(str(tmp_path / 'nope'), None)
    assert str(info.value) == f'{tmp_path / "nope"}: no such model file'


def test_eval_model_refuses_a_payload(tiny_model, tmp_path):
    from parlai_prosocial.testing import parlai_in_process

    marker = tmp_path / 'payload_ran'
    model_file = copy_model(tiny_model, tmp_path / 'm', with_payload(marker))
    data_dir = write_sample('prosocial', tmp_path / 'data')
    env = {model_files.TRUSTED_ENV: ''}
    with pytest.raises(ModelFileError) as info:
        parlai_in_process(
            ['eval_model', '-mf', model_file, '-t', 'prosocial', '--prosocial-data-dir',
             data_dir, '--num-examples', '1'],
            cwd=str(tmp_path),
            env_extra=env,
        )
    message = str(info.value)
    assert message == model_files.refusal_message(
        model_file, message.split('holds more than weights (', 1)[1].split('), and')[0]
    )
    assert not marker.exists()
