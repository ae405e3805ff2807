"""
Model files that cannot be read (empty, not a checkpoint, truncated, missing; a ``.opt`` that is
neither JSON nor a pickle of options) are one line naming the file, never a traceback and never
an unsafe second try (``parlai_prosocial.model_files``). (How the command line shows a
ModelFileError, as one line: test_cli_bad_input.py and test_errors_bad_input.py; payloads and
trust: test_safe_loading.py.)
"""

import ast
import json
import os
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


class _Payload:
    def __reduce__(self):
        return (print, ('never run',))


@pytest.mark.parametrize(
    'content, message',
    [
        (None, '{path}: no such option file; '),
        (b'{"model": "prost", "task": "pro', '{path}: not valid JSON ('),
        (b'', '{path}: not valid JSON ('),
        (b'model: prost\n', '{path}: not valid JSON ('),
        (b'["model", "prost"]', '{path}: cannot be read as an option file (a JSON list, not the '),
        (b'\xff\xfe not text, not a pickle', '{path}: cannot be read as an option file ('
                                              'UnpicklingError'),
        (pickle.dumps(['a', 'list']), '{path}: cannot be read as an option file (a pickled list'),
        (pickle.dumps({'model': 'x', 'p': _Payload()}), '{path}: refused to load: '),
    ],
    ids=['missing', 'cut', 'empty', 'not_json', 'json_list', 'not_text', 'pickled_list',
         'pickled_payload'],
)
def test_saved_options_one_line_naming_the_file(tmp_path, content, message):
    # every way a model's .opt cannot be read, through the one reader
    path = tmp_path / 'model.opt'
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelFileError) as info:
        model_files.saved_options(str(path))
    assert str(info.value).startswith(message.format(path=path)), str(info.value)
    assert '\n' not in str(info.value)


def test_saved_options_reads_json_and_pickled_options(tmp_path):
    options = {'model': 'prost', 'task': 'prosocial', 'classes': ['a', 'b']}
    (tmp_path / 'json.opt').write_text(json.dumps(options))
    (tmp_path / 'pickled.opt').write_bytes(pickle.dumps(options))
    assert model_files.saved_options(str(tmp_path / 'json.opt')) == options
    assert model_files.saved_options(str(tmp_path / 'pickled.opt')) == options
    assert model_files.saved_options(str(tmp_path / 'none.opt'), missing_ok=True) is None


#: where a model's .opt may be read: the one reader, and the plugin's wrappers of ParlAI's own
#: Opt.load (they read what ParlAI reads, for every caller of Opt.load)
OPT_READERS = ('parlai_prosocial/model_files.py', 'parlai_prosocial/parlai_fixes')
SOURCE_FOLDERS = ('parlai_prosocial', 'tasks', 'zoo', 'projects', 'benchmarks')


def _reads_of_option_files(path):
    """
    ``(line, source)`` of each place in the module at ``path`` that reads a ``.opt`` itself:
    ``Opt.load(...)``, or ``open`` (to read) / ``json.load`` of an expression with ``'.opt'`` in it
    or of a name assigned one. A preset (an expression naming presets) is not a model's options.
    """
    tree = ast.parse(open(path, encoding='utf-8').read(), path)

    def names_opt(node):
        return any(isinstance(n, ast.Constant) and isinstance(n.value, str) and '.opt' in n.value
                   for n in ast.walk(node)) and 'preset' not in ast.unparse(node)

    opt_names = {target.id for node in ast.walk(tree) if isinstance(node, ast.Assign)
                 and names_opt(node.value) for target in node.targets
                 if isinstance(target, ast.Name)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = ast.unparse(node.func)
        if func == 'Opt.load':
            yield node.lineno, ast.unparse(node)
        elif func in ('open', 'io.open', 'json.load') and node.args:
            arg = node.args[0]
            mode = node.args[1] if len(node.args) > 1 else next(
                (k.value for k in node.keywords if k.arg == 'mode'), None)
            writes = isinstance(mode, ast.Constant) and set(str(mode.value)) & set('wax')
            if not writes and (names_opt(arg) or (isinstance(arg, ast.Name)
                                                  and arg.id in opt_names)):
                yield node.lineno, ast.unparse(node)


def test_the_detector_finds_what_it_must(tmp_path):
    path = tmp_path / 'reader.py'
    path.write_text(
        "opt = Opt.load(mf + '.opt')\n"
        "with open(mf + '.opt') as f:\n    json.load(f)\n"
        "opt_file = os.path.join(d, 'model.opt')\nwith open(opt_file, 'rb') as f:\n    pass\n"
        "with open(opt_file, 'w') as f:\n    pass\n"  # writing one is not reading it
        "open(os.path.join(presets_dir(), name + '.opt'))\n"  # a preset, not a model's options
    )
    assert [line for line, _ in _reads_of_option_files(str(path))] == [1, 2, 5]


def test_no_other_module_reads_a_models_opt_itself(repo_dir):
    # every other reader goes through model_files.saved_options (one message per failure)
    repo = repo_dir
    found = []
    for folder in SOURCE_FOLDERS:
        for root, _dirs, files in os.walk(os.path.join(repo, folder)):
            for name in sorted(f for f in files if f.endswith('.py')):
                path = os.path.join(root, name)
                relative = os.path.relpath(path, repo)
                if relative.startswith(OPT_READERS):
                    continue
                found += [f'{relative}:{line}: {source}'
                          for line, source in _reads_of_option_files(path)]
    assert not found, found
