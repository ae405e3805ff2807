"""
The tiny casual-dataset fixtures (``parlai_prosocial.casual_fixtures``) are read by ParlAI's own
built-in teachers, offline.

For each of ``dailydialog``, ``convai2``, ``wizard_of_wikipedia``, ``empathetic_dialogues`` and
``blended_skill_talk``: the ``.built`` file carries the version string of that task's
``build.py``; the default teacher, created in-process with every download path of
``parlai.core.build_data`` patched to raise, yields the hand-written examples of every split;
``parlai display_data`` (a subprocess whose proxy points nowhere) prints them without downloading
or building anything. Finally a tiny generator trains on the paper's mixture of all five.

The expected examples below are written out by hand from the fixtures' dialogues, independently
of the writers' code.
"""

import inspect
import json
import os
import re
import subprocess
import sys

import pytest

import parlai.core.build_data as build_data
from parlai.core.params import ParlaiParser
from parlai.core.teachers import create_task_agent_from_taskname

from parlai_prosocial.casual_fixtures import (
    CASUAL_TASKS,
    FIXTURE_MARKER,
    TASK_FOLDERS,
    write_casual_fixtures,
)

# Any HTTP(S) request goes to a closed local port, so a download attempt cannot succeed.
NO_NETWORK_ENV = {
    'HTTP_PROXY': 'http://127.0.0.1:9',
    'HTTPS_PROXY': 'http://127.0.0.1:9',
    'http_proxy': 'http://127.0.0.1:9',
    'https_proxy': 'http://127.0.0.1:9',
    'NO_PROXY': '',
    'no_proxy': '',
}

# (task, split) -> (number of examples, [(fragment of the text, the label)] that must be there)
EXPECTED = {
    ('dailydialog', 'train'): (
        7,  # both sides of a 4-turn and a 3-turn dialogue
        [
            ('__SILENCE__', 'Excuse me , does this bus go to the city museum ?'),
            ('Thank you so much . How long is the ride ?', 'About twenty minutes if the traffic is light .'),
            ('Almost . I only need to add the sales figures .', 'Great , send it to me when you are done .'),
        ],
    ),
    ('dailydialog', 'valid'): (
        5,
        [
            ('__SILENCE__', 'What would you like for dinner tonight ?'),
            ("I've had a terrible headache since this morning .", 'You should drink some water and rest for a while .'),
        ],
    ),
    ('dailydialog', 'test'): (
        5,
        [
            ('Our chemistry exam is tomorrow and I am not ready .', "Let's review the last two chapters together tonight ."),
            ('How did you and your best friend meet ?', 'We sat next to each other on the first day of school .'),
        ],
    ),
    ('convai2', 'train'): (
        4,
        [
            (
                'your persona: i love to bake bread .\nyour persona: i have two cats .\n'
                'hi ! how are you doing today ?',
                'i am great , i just baked some bread . how are you ?',
            ),
            ('i mostly study , i have exams next week .', 'good luck ! tacos are my favorite study snack .'),
        ],
    ),
    ('convai2', 'valid'): (
        3,
        [
            ('your persona: i grow tomatoes in my garden .', 'not really , i spend most days in my garden since i retired .'),
            ('good evening ! any plans for the weekend ?', 'i am going hiking in the mountains with some other teachers .'),
        ],
    ),
    ('wizard_of_wikipedia', 'train'): (
        3,  # 2 from the apprentice-first episode, 1 from the wizard-first one (ParlAI's default)
        [
            (
                'Gardening\nI just started a vegetable garden this spring.',
                'Nice! Gardening is growing and cultivating plants, so you are a horticulturist now.',
            ),
            (
                'Ha, I guess so. What should I feed my plants?',
                'Try compost, a mixture of decomposed plant and food waste used as fertilizer.',
            ),
            ('Chocolate', 'Do you like chocolate? It is made from roasted and ground cacao seeds.'),
        ],
    ),
    ('wizard_of_wikipedia', 'valid'): (
        2,
        [
            ('Swimming\nI swim laps before work every day.', 'Swimming is one of the most popular public recreational activities.'),
            ('I cannot start my day without a cup of coffee.', 'Me neither! Coffee plants are grown in more than 70 countries.'),
        ],
    ),
    ('wizard_of_wikipedia', 'test'): (
        2,
        [
            ('I play saxophone in a jazz band.', 'Cool! Jazz started in New Orleans and is known for improvisation.'),
            ('I am trying to get better at chess.', 'Practice helps. Each player starts with sixteen pieces.'),
        ],
    ),
    ('empathetic_dialogues', 'train'): (
        5,  # both sides in train: 2 + 1 and 1 + 1
        [
            ('My daughter just graduated from college!', 'Congratulations, you must be so proud of her.'),
            ('Congratulations, you must be so proud of her.', 'I am, she worked so hard for it.'),
            ('That sounds hard. Have you tried joining a club?', 'Not yet, but maybe I will look for a running group.'),
        ],
    ),
    ('empathetic_dialogues', 'valid'): (
        3,  # experiencer side only outside train
        [
            ('I called my brother, and it turned out to be a raccoon.', 'Oh good, at least it was harmless.'),
            ('My neighbor cleared the snow from my driveway while I was sick.', 'What a kind thing to do, you have a great neighbor.'),
        ],
    ),
    ('empathetic_dialogues', 'test'): (
        3,
        [
            ('The concert I was waiting for got cancelled.', 'Oh no, I am sorry. Will they reschedule it?'),
            ('Next month I am flying to Japan, my first trip abroad!', 'How exciting, what do you want to see there?'),
        ],
    ),
    ('blended_skill_talk', 'train'): (
        3,
        [
            (
                'your persona: i love the outdoors.\nyour persona: i have a golden retriever.\n'
                'Hiking\nDo you go outside much?\nEvery weekend, I love hiking trails.\n'
                'I should hike more, I sit at a desk all week.',
                'You should! My dog and I found a great trail by the lake.',
            ),
            ('Is it a hard trail for beginners?', 'Not at all, it is flat and only three miles long.'),
            ('I got nervous at the parallel parking part.', 'That is the hardest part for most people, you will get it next time.'),
        ],
    ),
    ('blended_skill_talk', 'valid'): (
        2,
        [
            ('Yum, what kind of cookies?', 'Oatmeal raisin, with eggs from my own chickens.'),
            ('That must have been amazing, what else can you see?', 'On clear nights I can see the rings of Saturn.'),
        ],
    ),
    ('blended_skill_talk', 'test'): (
        2,
        [
            ('Yes, I miss her a lot already.', 'Maybe you could write each other letters, I love doing that.'),
            ('I play soccer too, what position do your kids like?', 'Most of them want to be the goalkeeper, oddly enough.'),
        ],
    ),
}
# ConvAI2 has no test split: its teacher reads valid
EXPECTED[('convai2', 'test')] = EXPECTED[('convai2', 'valid')]

SPLITS = ['train', 'valid', 'test']
CASES = [(task, split) for task in CASUAL_TASKS for split in SPLITS]
DISPLAY_CASES = [(task, split) for task in CASUAL_TASKS for split in ('train', 'valid')]


@pytest.fixture(scope='module')
def datapath(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('casual_datapath'))
    written = write_casual_fixtures(path)
    assert sorted(written) == sorted(CASUAL_TASKS)
    return path


def _build_py_version(task):
    """
    The version string that ParlAI's ``parlai/tasks/<task>/build.py`` checks, read from its source.
    """
    module = __import__(f'parlai.tasks.{task}.build', fromlist=['build'])
    versions = re.findall(r"^\s*version = '([^']*)'", inspect.getsource(module.build), re.M)
    assert len(versions) == 1, versions
    return versions[0]


@pytest.mark.parametrize('task', CASUAL_TASKS)
def test_marked_built_with_the_build_py_version(datapath, task):
    folder, version = TASK_FOLDERS[task]
    dpath = os.path.join(datapath, folder)
    assert version == _build_py_version(task)
    assert os.path.isfile(os.path.join(dpath, '.built'))
    assert build_data.built(dpath, version_string=version)


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


def _teacher_examples(task, datatype, datapath):
    opt = ParlaiParser(True, False).parse_args(
        ['--task', task, '--datatype', datatype, '--datapath', datapath]
    )
    teacher = create_task_agent_from_taskname(opt)[0]
    examples = []
    while True:
        examples.append(teacher.act())
        if teacher.epoch_done():
            break
    assert len(examples) == teacher.num_examples()
    return examples


def _label(example):
    return list(example.get('labels', example.get('eval_labels')))


@pytest.mark.parametrize('task,split', CASES)
def test_default_teacher_reads_fixture_without_downloading(datapath, no_downloads, task, split):
    datatype = 'train:ordered' if split == 'train' else split
    examples = _teacher_examples(task, datatype, datapath)
    count, pairs = EXPECTED[(task, split)]
    assert len(examples) == count
    for fragment, label in pairs:
        assert any(
            fragment in ex['text'] and _label(ex) == [label] for ex in examples
        ), (fragment, label, [(ex['text'], _label(ex)) for ex in examples])
    if task == 'convai2':
        # the default teacher gives the candidates, true reply included
        for ex in examples:
            assert _label(ex)[0] in ex['label_candidates'] and len(ex['label_candidates']) == 3
    if task == 'empathetic_dialogues' and split == 'train':
        assert examples[0]['emotion'] == 'proud'
        assert examples[0]['situation'] == (
            'My daughter graduated from college last week, the first in our family.'
        )
    if task == 'wizard_of_wikipedia':
        for ex in examples:
            assert ex['knowledge'] and ex['title'] and ex['checked_sentence']
        if split == 'train':
            compost = [ex for ex in examples if 'feed my plants' in ex['text']][0]
            assert compost['title'] == 'Compost'
            assert compost['checked_sentence'] == 'Compost is a mixture of ingredients used as plant fertilizer.'
            assert 'Compost Compost is a mixture of ingredients' in compost['knowledge']
        else:
            assert all(_label(ex)[0] in ex['label_candidates'] for ex in examples)
    if task == 'blended_skill_talk':
        assert {ex['context_dataset'] for ex in examples} <= {
            'convai2',
            'empathetic_dialogues',
            'wizard_of_wikipedia',
        }


@pytest.fixture(scope='module')
def display_runs(datapath):
    """
    ``parlai display_data`` for every task on train and valid, all started at once (to save time).
    """
    env = dict(os.environ, **NO_NETWORK_ENV)
    procs = {
        (task, split): subprocess.Popen(
            [sys.executable, '-m', 'parlai', 'display_data', '-t', task,
             '--datapath', datapath, '-dt', split, '-n', '100'],
            env=env,
            cwd=datapath,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for task, split in DISPLAY_CASES
    }
    results = {}
    try:
        for case, proc in procs.items():
            out, err = proc.communicate(timeout=300)
            results[case] = (proc.returncode, out, err)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    return results


@pytest.mark.parametrize('task,split', DISPLAY_CASES)
def test_display_data_prints_fixture_offline(display_runs, task, split):
    returncode, out, err = display_runs[(task, split)]
    assert returncode == 0, out[-3000:] + err[-3000:]
    for text in ('Downloading', 'building data', 'Traceback'):
        assert text not in out + err, (out + err)[-3000:]
    count, pairs = EXPECTED[(task, split)]
    for fragment, label in pairs:
        assert fragment in out and '   ' + label in out, (fragment, label, out)
    assert f'total of {count} examples' in out + err


def test_refuses_to_overwrite_a_real_dataset(tmp_path):
    dpath = tmp_path / 'dailydialog'
    dpath.mkdir()
    (dpath / 'train.json').write_text('real data\n')
    build_data.mark_done(str(dpath), version_string='None')
    with pytest.raises(FileExistsError):
        write_casual_fixtures(str(tmp_path), tasks=['dailydialog'])
    assert (dpath / 'train.json').read_text() == 'real data\n'
    # but our own fixture may be rewritten
    write_casual_fixtures(str(tmp_path / 'fresh'), tasks='dailydialog,convai2')
    write_casual_fixtures(str(tmp_path / 'fresh'), tasks=['dailydialog'])
    assert os.path.isfile(tmp_path / 'fresh' / 'dailydialog' / FIXTURE_MARKER)
    with pytest.raises(ValueError):
        write_casual_fixtures(str(tmp_path), tasks=['squad'])


def test_train_tiny_generator_on_the_casual_mixture(datapath, tmp_path, run_parlai):
    model_file = str(tmp_path / 'model')
    result = run_parlai(
        [
            'train_model',
            '-t', ','.join(CASUAL_TASKS),
            '--multitask-weights', '3,3,3,3,1',
            '-m', 'transformer/generator',
            '-o', 'prosocial/tiny_generator',
            '--datapath', datapath,
            '-mf', model_file,
            '--num-epochs', '1',
            # the untrained model never says __end__: generating 128 tokens per example would
            # make the final valid/test evals take most of the test's time
            '--skip-generation', 'true',
        ],
        cwd=str(tmp_path),
        env_extra=NO_NETWORK_ENV,
    )
    assert 'Downloading' not in result.stdout + result.stderr
    assert os.path.isfile(model_file) and os.path.isfile(model_file + '.dict')
    stats = json.load(open(model_file + '.trainstats'))
    for report in ('final_valid_report', 'final_test_report'):
        for task in CASUAL_TASKS:
            assert stats[report][f'{task}/exs'] > 0, (report, task)


def test_casual_safety_has_one_teacher_for_every_wrapped_task():
    from parlai.core.loader import load_teacher_module

    from parlai_prosocial.tasks.casual_safety import agents

    for task in ['casual_safety', 'casual_safety:dailydialog', 'casual_safety:blended_skill_talk',
                 'casual_safety:wizard_of_wikipedia:WizardDialogKnowledge']:
        assert load_teacher_module(task) is agents.CasualSafetyTeacher, task
    for not_a_teacher in ['Teacher', '_PrivateTeacher', 'something_else']:
        assert not hasattr(agents, not_a_teacher)
