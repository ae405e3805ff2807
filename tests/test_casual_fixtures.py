"""
The tiny stand-ins of ParlAI's casual datasets (``parlai_prosocial/samples/casual``) are read by
ParlAI's own built-in teachers, offline: each folder is marked built with the version string of
that task's ``build.py``, and the default teacher, created in-process with every download path of
``parlai.core.build_data`` patched to raise, serves our files on every split. (The command line
reads them in ``test_offline_data.py``; the paper's mixtures train on them in ``test_prost.py``
and ``test_canary.py``.)
"""

import contextlib
import inspect
import io
import os
import re
import shutil

import pytest

import parlai.core.build_data as build_data
from parlai.core.params import ParlaiParser
from parlai.core.teachers import create_task_agent_from_taskname

from parlai_prosocial.samples import CASUAL, HERE, WRITTEN_LIST, write_casual


@pytest.fixture(scope='module')
def datapath(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('casual_datapath'))
    assert sorted(write_casual(path)) == sorted(CASUAL)
    return path


def _build_py_version(task):
    """
    The version string that ParlAI's ``parlai/tasks/<task>/build.py`` checks, read from its source.
    """
    module = __import__(f'parlai.tasks.{task}.build', fromlist=['build'])
    versions = re.findall(r"^\s*version = '([^']*)'", inspect.getsource(module.build), re.M)
    assert len(versions) == 1, versions
    return versions[0]


@pytest.mark.parametrize('task', list(CASUAL))
def test_marked_built_with_the_build_py_version(datapath, task):
    folder, version = CASUAL[task]
    assert version == _build_py_version(task)
    assert build_data.built(os.path.join(datapath, folder), version_string=version)


@pytest.fixture
def no_downloads(monkeypatch):
    """
    Every way ParlAI's ``build()`` fetches or (re)builds data raises.
    """

    def refuse(*args, **kwargs):
        raise AssertionError(f'ParlAI tried to download or rebuild data: {args}')

    for name in ('download', 'download_from_google_drive', 'untar', 'remove_dir', 'make_dir'):
        monkeypatch.setattr(build_data, name, refuse)
    monkeypatch.setattr(build_data.DownloadableFile, 'download_file', refuse)


def _packaged_text(task):
    folder = os.path.join(HERE, 'casual', CASUAL[task][0])
    texts = []
    for root, _dirs, files in os.walk(folder):
        texts += [open(os.path.join(root, name), encoding='utf-8').read() for name in files]
    return '\n'.join(texts)


@pytest.mark.parametrize('split', ['train', 'valid', 'test'])
@pytest.mark.parametrize('task', list(CASUAL))
def test_default_teacher_reads_the_stand_in_without_downloading(datapath, no_downloads, task,
                                                                split):
    datatype = 'train:ordered' if split == 'train' else split
    opt = ParlaiParser(True, False).parse_args(
        ['--task', task, '--datatype', datatype, '--datapath', datapath]
    )
    teacher = create_task_agent_from_taskname(opt)[0]
    examples = [teacher.act()]
    while not teacher.epoch_done():
        examples.append(teacher.act())
    assert len(examples) == teacher.num_examples() > 0
    packaged = _packaged_text(task)
    for example in examples:
        (label,) = example.get('labels', example.get('eval_labels'))
        # our texts, as each format writes them (EmpatheticDialogues' commas are "_comma_")
        assert label in packaged or label.replace(',', '_comma_') in packaged, label
        # the fields the real data gives the default teacher
        if task == 'convai2':
            assert label in example['label_candidates']
        if task == 'empathetic_dialogues':
            assert example['emotion'] and example['situation']
        if task == 'wizard_of_wikipedia':
            assert example['knowledge'] and example['title'] and example['checked_sentence']
        if task == 'blended_skill_talk':
            assert example['context_dataset'] in (
                'convai2', 'empathetic_dialogues', 'wizard_of_wikipedia'
            )


def test_blended_skill_talk_text_files_are_parlais_conversion(tmp_path):
    from parlai.tasks.blended_skill_talk.build import _create_parlai_format

    packaged = os.path.join(HERE, 'casual', 'blended_skill_talk')
    for split in ('train', 'valid', 'test'):
        shutil.copy(os.path.join(packaged, f'{split}.json'), tmp_path)
    with contextlib.redirect_stdout(io.StringIO()):  # it prints a line per file
        _create_parlai_format(str(tmp_path))
    for split in ('train', 'valid', 'test'):
        converted = (tmp_path / f'{split}.txt').read_text(encoding='utf-8')
        assert converted == open(os.path.join(packaged, f'{split}.txt'), encoding='utf-8').read()


def test_refuses_to_overwrite_a_real_dataset(tmp_path):
    dpath = tmp_path / 'dailydialog'
    dpath.mkdir()
    (dpath / 'train.json').write_text('real data\n')
    build_data.mark_done(str(dpath), version_string='None')
    with pytest.raises(FileExistsError):
        write_casual(tmp_path, tasks=['dailydialog'])
    assert (dpath / 'train.json').read_text() == 'real data\n'
    # but our own stand-in may be written again
    write_casual(tmp_path / 'fresh', tasks=['dailydialog', 'convai2'])
    write_casual(tmp_path / 'fresh', tasks=['dailydialog'])
    assert os.path.isfile(tmp_path / 'fresh' / 'dailydialog' / WRITTEN_LIST)
    with pytest.raises(ValueError):
        write_casual(tmp_path, tasks=['squad'])


def test_casual_safety_has_one_teacher_for_every_wrapped_task():
    from parlai.core.loader import load_teacher_module

    from parlai_prosocial.tasks.casual_safety import agents

    for task in ['casual_safety', 'casual_safety:dailydialog', 'casual_safety:blended_skill_talk',
                 'casual_safety:wizard_of_wikipedia:WizardDialogKnowledge']:
        assert load_teacher_module(task) is agents.CasualSafetyTeacher, task
    for not_a_teacher in ['Teacher', '_PrivateTeacher', 'something_else']:
        assert not hasattr(agents, not_a_teacher)
