"""
Bad ProsocialDialog files: each gives a ``ProsocialDataError`` naming the file, the line or
dialogue/turn, and the field, as soon as the teacher is created (so before any training); and a
half-finished download is never taken for a finished one.
"""

import json
import os
import subprocess
import sys
import tarfile

import pytest

from parlai.core.build_data import mark_done

from parlai_prosocial.tasks.prosocial import build
from parlai_prosocial.tasks.prosocial.data import ProsocialDataError
from parlai_prosocial.samples import write_sample

from parlai_prosocial.testing import create_teacher
from parlai_prosocial.testing.samples import PROSOCIAL_LAYOUTS, prosocial_dialogues

SAMPLE = prosocial_dialogues()

TASKS = [
    'prosocial',
    'prosocial:response',
    'prosocial:rot_response',
    'prosocial:safety',
    'prosocial:safety_classification',
]

# HF train.json: line 4 is dialogue 1, turn 0; line 5 is dialogue 1, turn 1
HF_FIELDS = [
    'context',
    'response',
    'rots',
    'safety_label',
    'safety_annotations',
    'safety_annotation_reasons',
    'source',
    'etc',
    'dialogue_id',
    'response_id',
    'episode_done',
]
PARLAI_FIELDS = [
    'text',
    'labels',
    'rots',
    'safety_label',
    'safety_annotations',
    'safety_annotation_reasons',
    'source',
    'etc',
]


def create_prosocial_teacher(data_dir, task='prosocial', datatype='train:ordered', **kwargs):
    return create_teacher(task, datatype, prosocial_data_dir=str(data_dir), **kwargs)


def error_of(data_dir, **kwargs):
    with pytest.raises(ProsocialDataError) as info:
        create_prosocial_teacher(data_dir, **kwargs)
    return str(info.value)


def train_file(data_dir):
    return os.path.join(str(data_dir), 'train.json')


def edit_hf_row(data_dir, line_number, edit):
    path = train_file(data_dir)
    with open(path, encoding='utf-8') as f:
        rows = [json.loads(line) for line in f]
    edit(rows[line_number - 1])
    with open(path, 'w', encoding='utf-8') as f:
        f.writelines(json.dumps(row) + '\n' for row in rows)
    return path


def edit_parlai_turn(data_dir, dialogue, turn, edit):
    path = train_file(data_dir)
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    edit(data[dialogue][turn])
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(data, f, indent=1)
    return path


def assert_names(message, path, where, field=None):
    assert message.startswith(path + ': '), message
    assert where in message, message
    if field is not None:
        assert f'"{field}"' in message, message


# --- whole files --------------------------------------------------------------------------------


@pytest.mark.parametrize('layout', ['hf', 'parlai'])
def test_missing_file(tmp_path, layout):
    write_sample(PROSOCIAL_LAYOUTS[layout], tmp_path)
    os.remove(train_file(tmp_path))
    message = error_of(tmp_path)
    assert message == f'{train_file(tmp_path)}: no such file'


def test_missing_data_dir(tmp_path):
    message = error_of(tmp_path / 'nowhere')
    assert message == f'{tmp_path / "nowhere" / "train.json"}: no such file'


@pytest.mark.parametrize('content', ['', '\n  \n'])
def test_empty_file(tmp_path, content):
    write_sample('prosocial', tmp_path)
    with open(train_file(tmp_path), 'w') as f:
        f.write(content)
    assert error_of(tmp_path) == f'{train_file(tmp_path)}: the file is empty'


def test_truncated_json_lines(tmp_path):
    write_sample('prosocial', tmp_path)
    path = train_file(tmp_path)
    with open(path, encoding='utf-8') as f:
        lines = f.readlines()
    assert len(lines) == 8
    with open(path, 'w', encoding='utf-8') as f:
        f.writelines(lines[:-1])
        f.write(lines[-1][: len(lines[-1]) // 2])  # a download cut off in the middle of a row
    message = error_of(tmp_path)
    assert_names(message, path, ': line 8: ')
    assert 'not valid JSON' in message


def test_truncated_parlai_layout(tmp_path):
    write_sample('prosocial_dialog', tmp_path)
    path = train_file(tmp_path)
    with open(path, encoding='utf-8') as f:
        text = f.read()
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text[: len(text) // 2])
    message = error_of(tmp_path)
    last_line = text[: len(text) // 2].count('\n') + 1
    assert message.startswith(f'{path}: line ')
    # json reports where it ran out of text: the last line, or the one after the last newline
    assert int(message.split(': line ')[1].split(':')[0]) in (last_line - 1, last_line)
    assert 'not valid JSON' in message and 'truncated' in message


@pytest.mark.parametrize(
    'content',
    [
        'context\tresponse\nhello\tworld\n',  # a TSV
        'parlai text:hello\tlabels:world\n',  # ParlAI's own text format
        '{"context": "a", "response": ',  # one cut-off object
    ],
)
def test_not_json(tmp_path, content):
    write_sample('prosocial', tmp_path)
    with open(train_file(tmp_path), 'w') as f:
        f.write(content)
    message = error_of(tmp_path)
    assert_names(message, train_file(tmp_path), ': line 1: ')
    assert 'not valid JSON' in message


def test_binary_file(tmp_path):
    # e.g. the downloaded .tar.gz, or an HF parquet file, saved as train.json
    write_sample('prosocial', tmp_path)
    with open(train_file(tmp_path), 'wb') as f:
        f.write(b'\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03' + bytes(range(256)))
    message = error_of(tmp_path)
    assert message.startswith(train_file(tmp_path) + ': not UTF-8 text'), message


def test_json_lines_line_not_utf8(tmp_path):
    write_sample('prosocial', tmp_path)
    path = train_file(tmp_path)
    with open(path, 'rb') as f:
        lines = f.readlines()
    lines[5] = lines[5].replace(b'neighbour', 'neighbour\u00e9'.encode('latin-1'))
    with open(path, 'wb') as f:
        f.writelines(lines)
    message = error_of(tmp_path)
    assert_names(message, path, ': line 6: ')
    assert 'not UTF-8 text' in message


# --- rows and fields ---------------------------------------------------------------------------


@pytest.mark.parametrize('field', HF_FIELDS)
def test_hf_row_missing_field(tmp_path, field):
    write_sample('prosocial', tmp_path)
    path = edit_hf_row(tmp_path, 4, lambda row: row.pop(field))
    message = error_of(tmp_path)
    assert message == f'{path}: line 4: missing field "{field}"'


@pytest.mark.parametrize('field', PARLAI_FIELDS)
def test_parlai_turn_missing_field(tmp_path, field):
    write_sample('prosocial_dialog', tmp_path)
    path = edit_parlai_turn(tmp_path, 1, 1, lambda turn: turn.pop(field))
    message = error_of(tmp_path)
    assert message == f'{path}: dialogue 1, turn 1: missing field "{field}"'


@pytest.mark.parametrize(
    'field, value',
    [
        ('context', None),
        ('response', ['a list']),
        ('rots', "It's wrong to hurt animals."),
        ('rots', [1, 2]),
        ('safety_annotations', 'casual'),
        ('safety_annotation_reasons', None),
        ('source', 3),
        ('dialogue_id', '1'),
        ('response_id', 0.5),
        ('response_id', True),
        ('episode_done', 'false'),
    ],
)
def test_hf_field_of_wrong_type(tmp_path, field, value):
    write_sample('prosocial', tmp_path)
    path = edit_hf_row(tmp_path, 5, lambda row: row.__setitem__(field, value))
    message = error_of(tmp_path)
    assert message.startswith(f'{path}: line 5: field "{field}" is {value!r}, expected ')


@pytest.mark.parametrize(
    'field, value',
    [
        ('text', None),
        ('labels', 'a reply, not a list'),
        ('rots', {'rot': 'x'}),
        ('safety_annotations', [None]),
        ('etc', None),
    ],
)
def test_parlai_field_of_wrong_type(tmp_path, field, value):
    write_sample('prosocial_dialog', tmp_path)
    path = edit_parlai_turn(tmp_path, 0, 2, lambda turn: turn.__setitem__(field, value))
    message = error_of(tmp_path)
    assert message.startswith(f'{path}: dialogue 0, turn 2: field "{field}" is {value!r}, expected ')


def test_parlai_turn_with_two_replies(tmp_path):
    write_sample('prosocial_dialog', tmp_path)
    path = edit_parlai_turn(tmp_path, 3, 0, lambda turn: turn['labels'].append('another reply'))
    message = error_of(tmp_path)
    assert_names(message, path, ': dialogue 3, turn 0: ', 'labels')


@pytest.mark.parametrize('layout', ['hf', 'parlai'])
@pytest.mark.parametrize('label', ['__unsafe__', 'needs caution', '__NEEDS_CAUTION__', None])
def test_unknown_safety_label(tmp_path, layout, label):
    write_sample(PROSOCIAL_LAYOUTS[layout], tmp_path)

    def edit(turn):
        turn['safety_label'] = label

    if layout == 'hf':
        path, where = edit_hf_row(tmp_path, 6, edit), ': line 6: '
    else:
        path, where = edit_parlai_turn(tmp_path, 2, 0, edit), ': dialogue 2, turn 0: '
    message = error_of(tmp_path)
    assert_names(message, path, where, 'safety_label')
    assert repr(label) in message and '__needs_intervention__' in message  # says what is allowed


def test_duplicate_dialogue_and_response_id(tmp_path):
    write_sample('prosocial', tmp_path)
    path = edit_hf_row(tmp_path, 5, lambda row: row.__setitem__('response_id', 0))
    message = error_of(tmp_path)
    assert message == f'{path}: line 5: field "response_id" repeats turn 0 of dialogue 1'


def test_missing_turn_in_a_dialogue(tmp_path):
    # line 4 is turn 0 of dialogue 1 (two turns): renumbering it 2 leaves turn 0 missing
    write_sample('prosocial', tmp_path)
    path = edit_hf_row(tmp_path, 4, lambda row: row.__setitem__('response_id', 2))
    message = error_of(tmp_path)
    assert message == (
        f'{path}: line 4: field "response_id" of dialogue 1 numbers its turns [1, 2], '
        'expected 0..1: a turn is missing'
    )


def test_row_that_is_not_an_object(tmp_path):
    write_sample('prosocial', tmp_path)
    path = train_file(tmp_path)
    with open(path, 'a') as f:
        f.write('["a", "list"]\n')
    message = error_of(tmp_path)
    assert_names(message, path, ': line 9: ')
    assert 'JSON object' in message


@pytest.mark.parametrize('task', TASKS)
@pytest.mark.parametrize('datatype', ['train:ordered', 'train:stream:ordered', 'valid', 'test:stream'])
def test_every_teacher_fails_on_creation(tmp_path, task, datatype):
    """
    The whole split file is read when the teacher is created, in stream mode too, so a bad row
    near the end stops the run before the first training step rather than hours into it.
    """
    write_sample('prosocial', tmp_path)
    split = datatype.split(':')[0]
    path = os.path.join(str(tmp_path), f'{split}.json')
    with open(path, encoding='utf-8') as f:
        rows = [json.loads(line) for line in f]
    del rows[-1]['rots']  # the very last row
    with open(path, 'w', encoding='utf-8') as f:
        f.writelines(json.dumps(row) + '\n' for row in rows)
    message = error_of(tmp_path, task=task, datatype=datatype)
    assert message == f'{path}: line {len(rows)}: missing field "rots"'


def test_other_splits_are_not_needed(tmp_path):
    # a broken valid.json does not stop a teacher that reads train.json
    write_sample('prosocial', tmp_path)
    with open(os.path.join(str(tmp_path), 'valid.json'), 'w') as f:
        f.write('{"broken": ')
    teacher = create_prosocial_teacher(tmp_path)
    assert teacher.num_examples() == sum(len(d) for d in SAMPLE['train'])


def test_fixed_file_is_read_again(tmp_path):
    # the teachers cache parsed files; an edited file must not be served from the cache
    write_sample('prosocial', tmp_path)
    assert create_prosocial_teacher(tmp_path).num_examples() == 8
    path = edit_hf_row(tmp_path, 4, lambda row: row.pop('context'))
    assert error_of(tmp_path) == f'{path}: line 4: missing field "context"'


# --- through the command line --------------------------------------------------------------------


def test_cli_reports_the_file_and_field(tmp_path):
    write_sample('prosocial', tmp_path)
    path = edit_hf_row(tmp_path, 4, lambda row: row.pop('safety_annotations'))
    script = os.path.join(os.path.dirname(sys.executable), 'parlai')
    command = [script] if os.path.exists(script) else [sys.executable, '-m', 'parlai']
    env = {k: v for k, v in os.environ.items() if k != build.DATA_DIR_ENV}
    result = subprocess.run(
        command + ['display_data', '-t', 'prosocial', '--prosocial-data-dir', str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == (
        'ProsocialDataError: '
        f'{path}: line 4: missing field "safety_annotations"'
    ), result.stderr[-3000:]
    assert 'NEW EPISODE' not in result.stdout


# --- downloads ---------------------------------------------------------------------------------


@pytest.fixture
def downloads(monkeypatch, tmp_path_factory):
    """
    Record download attempts instead of touching the network; each "downloads" the direct
    download's archive made from the sample (so the build unpacks a real .tar.gz).
    """
    calls = []
    source = tmp_path_factory.mktemp('archive_source')
    write_sample('prosocial_dialog', source)

    def fetch(url, target, sha256=None, size=None, **kwargs):
        calls.append((os.path.basename(target), os.path.dirname(target)))
        assert url == build.resource().url and sha256 == build.resource().hashcode
        with tarfile.open(target, 'w:gz') as archive:
            for name in ('train.json', 'valid.json', 'test.json'):
                archive.add(os.path.join(str(source), name), arcname=name)

    monkeypatch.setattr(build, 'fetch', fetch)
    monkeypatch.delenv(build.DATA_DIR_ENV, raising=False)
    return calls


def _download_opt(datapath):
    return {'datapath': str(datapath), 'datatype': 'train', 'prosocial_data_dir': None}


def test_half_finished_download_is_downloaded_again(tmp_path, downloads):
    dpath = tmp_path / 'prosocial_dialog'
    # files are there, but no .built marker: an interrupted build
    write_sample('prosocial_dialog', dpath)
    assert build.data_dir(_download_opt(tmp_path)) == str(dpath)
    assert downloads == [('prosocial_dialog_v1.tar.gz', str(dpath))]
    assert build.datafile(_download_opt(tmp_path)) == str(dpath / 'train.json')
    assert len(downloads) == 1  # the build marked it done after the (pretend) download


def test_outdated_download_is_replaced(tmp_path, downloads):
    dpath = tmp_path / 'prosocial_dialog'
    write_sample('prosocial_dialog', dpath)
    mark_done(str(dpath))  # built, but not version 0.1
    (dpath / 'stale.json').write_text('[]')
    build.data_dir(_download_opt(tmp_path))
    assert downloads == [('prosocial_dialog_v1.tar.gz', str(dpath))]
    assert sorted(os.listdir(dpath)) == ['.built', 'test.json', 'train.json', 'valid.json']


def test_finished_download_is_used(tmp_path, downloads):
    dpath = tmp_path / 'prosocial_dialog'
    write_sample('prosocial_dialog', dpath)
    mark_done(str(dpath), version_string='0.1')
    assert build.data_dir(_download_opt(tmp_path)) == str(dpath)
    assert downloads == []
    # and the teacher reads it, with no --prosocial-data-dir
    teacher = create_teacher('prosocial', 'valid', datapath=str(tmp_path))
    assert teacher.opt['prosocial_data_dir'] is None
    assert teacher.act()['text'] == SAMPLE['valid'][0][0]['context']
    assert downloads == []


def test_data_dir_option_skips_the_download(tmp_path, downloads):
    opt = dict(_download_opt(tmp_path), prosocial_data_dir=str(tmp_path / 'mine'))
    assert build.data_dir(opt) == str(tmp_path / 'mine')
    assert downloads == []
    assert not (tmp_path / 'prosocial_dialog').exists()
