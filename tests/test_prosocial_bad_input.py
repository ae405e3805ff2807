"""
Bad ProsocialDialog files through a teacher (ParlAI in-process; the reader's case table is
``test_readers_bad_input.py``, the command line ``test_cli_bad_input.py``): every teacher reads and
checks its whole split when it is created, in stream mode too, so a bad row stops the command
before any training; a file that is fixed is read again; and a half-finished download is never
taken for a finished one.
"""

import json
import os
import tarfile

import pytest

from parlai.core.build_data import mark_done

from parlai_prosocial.samples import write_sample
from parlai_prosocial.tasks.prosocial import build
from parlai_prosocial.tasks.prosocial.data import ProsocialDataError
from parlai_prosocial.testing import create_teacher
from parlai_prosocial.testing.samples import prosocial_dialogues


def error_of(data_dir, task='prosocial', datatype='train:ordered'):
    with pytest.raises(ProsocialDataError) as info:
        create_teacher(task, datatype, prosocial_data_dir=str(data_dir))
    return str(info.value)


def drop_field(path, line_number, field):
    with open(path, encoding='utf-8') as f:
        rows = [json.loads(line) for line in f]
    del rows[line_number - 1][field]
    with open(path, 'w', encoding='utf-8') as f:
        f.writelines(json.dumps(row) + '\n' for row in rows)


@pytest.mark.parametrize(
    'task, datatype',
    [
        ('prosocial', 'train:stream:ordered'),
        ('prosocial:response', 'train:ordered'),
        ('prosocial:rot_response', 'valid'),
        ('prosocial:safety', 'test:stream'),
        ('prosocial:safety_classification', 'valid:stream'),
    ],
)
def test_every_teacher_fails_on_creation(tmp_path, task, datatype):
    """
    The whole split file is read when the teacher is created, in stream mode too, so a bad row
    near the end stops the run before the first training step rather than hours into it.
    """
    write_sample('prosocial', tmp_path)
    path = os.path.join(str(tmp_path), f'{datatype.split(":")[0]}.json')
    last = sum(1 for _ in open(path, encoding='utf-8'))
    drop_field(path, last, 'rots')  # the very last row
    assert error_of(tmp_path, task, datatype) == f'{path}: line {last}: missing field "rots"'


def test_missing_data_dir(tmp_path):
    assert error_of(tmp_path / 'nowhere') == f'{tmp_path / "nowhere" / "train.json"}: no such file'


def test_fixed_file_is_read_again(tmp_path):
    # the teachers cache parsed files; an edited file must not be served from the cache
    write_sample('prosocial', tmp_path)
    teacher = create_teacher('prosocial', 'train', prosocial_data_dir=str(tmp_path))
    assert teacher.num_examples() == 8
    path = os.path.join(str(tmp_path), 'train.json')
    drop_field(path, 4, 'context')
    assert error_of(tmp_path) == f'{path}: line 4: missing field "context"'


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
    assert teacher.act()['text'] == prosocial_dialogues()['valid'][0][0]['context']
    assert downloads == []


def test_data_dir_option_skips_the_download(tmp_path, downloads):
    opt = dict(_download_opt(tmp_path), prosocial_data_dir=str(tmp_path / 'mine'))
    assert build.data_dir(opt) == str(tmp_path / 'mine')
    assert downloads == []
    assert not (tmp_path / 'prosocial_dialog').exists()
