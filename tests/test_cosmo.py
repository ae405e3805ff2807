"""
``prosocial:cosmo``: ProsocialDialog in COSMO's input format (SODA paper App. C).

ParlAI's regression test (``AutoTeacherTest``; its ``.yml`` files are in ``tests/test_cosmo/``,
regenerate with ``pytest tests/test_cosmo.py --force-regen``) and checks of the conversion against
the bundled ProsocialDialog sample, built here from its rows.
"""

import pytest

from parlai.core.params import ParlaiParser
from parlai.utils.testing import AutoTeacherTest

from parlai_prosocial.tasks.prosocial.build import DATA_DIR_ENV
from parlai_prosocial.tasks.prosocial.agents import CosmoTeacher
from parlai_prosocial.formats import rot_clause
from parlai_prosocial.tasks.prosocial.cosmo import NAMES
from parlai_prosocial.testing.samples import prosocial_dialogues

SAMPLE = prosocial_dialogues()


@pytest.fixture(autouse=True)
def _prosocial_data_dir(sample_data_dir, monkeypatch):
    # AutoTeacherTest parses its own options: the teacher finds the sample through the default
    # of --prosocial-data-dir
    monkeypatch.setenv(DATA_DIR_ENV, sample_data_dir)


class TestCosmoTeacher(AutoTeacherTest):
    task = 'prosocial:cosmo'


def epoch(datatype, **kwargs):
    opt = ParlaiParser(True, True).parse_kwargs(
        task='prosocial:cosmo', datatype=datatype, model='fixed_response', fixed_response='none',
        **kwargs,
    )
    teacher = CosmoTeacher(opt)
    messages = []
    while True:
        message = teacher.act()
        messages.append(message)
        if teacher.epoch_done():
            return messages


def expected(split, messages, drop_narrative=False, drop_instruction=False):
    """
    The texts, built from the sample and the names each message reports.
    """
    texts = []
    i = 0
    for dialogue in SAMPLE[split]:
        history = []
        situation = ''
        for turn in dialogue:
            message = messages[i]
            speaker, listener = message['speaker'], message['listener']
            if turn['rots']:
                assert message['rots'] == turn['rots']
                rot = [r for r in turn['rots'] if message['situation'].endswith(rot_clause(r))]
                assert len(rot) == 1
                situation = f'{speaker} is trying to gently convince a friend {rot_clause(rot[0])}'
            history.append(turn['context'])
            parts = []
            if situation and not drop_narrative:
                parts.append(situation)
            if not drop_instruction:
                parts.append(f'Imagine you are {speaker} and speak to {listener}')
            texts.append(' <sep> '.join(parts + [' <turn> '.join(history)]))
            history.append(turn['response'])
            i += 1
    return texts


@pytest.mark.parametrize('split', ['valid', 'test'])
def test_valid_test_texts(split):
    messages = epoch(split, cosmo_drop_narrative=1.0, cosmo_drop_instruction=1.0)
    assert [m['text'] for m in messages] == expected(split, messages)  # no drops outside training
    replies = [turn['response'] for dialogue in SAMPLE[split] for turn in dialogue]
    assert [m['eval_labels'] for m in messages] == [[r] for r in replies]
    assert all(m['episode_done'] for m in messages)


def test_written_out():
    message = epoch('valid')[0]
    a, b = message['speaker'], message['listener']
    assert a != b and a in NAMES and b in NAMES
    assert message['text'] == (
        f'{a} is trying to gently convince a friend you should support your friends on '
        f'important days. <sep> Imagine you are {a} and speak to {b} <sep> '
        "I'm going to skip my friend's wedding to play video games."
    )


def test_situations_carry_over_and_start_empty():
    messages = epoch('train:ordered', cosmo_drop_narrative=0.0, cosmo_drop_instruction=0.0)
    assert [m['text'] for m in messages] == expected('train', messages)
    # the 911 dialogue's casual last turn keeps the situation of the turn before
    assert messages[2]['situation'] == messages[1]['situation'] != ''
    # the kitten dialogue has no RoTs: no situation at all
    kitten = messages[-2:]
    assert all(m['situation'] == '' for m in kitten)
    assert kitten[0]['text'].startswith('Imagine you are ')


def test_names_are_seeded_per_dialogue():
    first = [(m['speaker'], m['listener']) for m in epoch('train:ordered')]
    assert first == [(m['speaker'], m['listener']) for m in epoch('train:ordered')]
    assert len({pair for pair in first}) > 1  # not one pair for every dialogue
    other = [(m['speaker'], m['listener']) for m in epoch('train:ordered', cosmo_names_seed=3)]
    assert other != first


def test_names_file(tmp_path):
    names = tmp_path / 'names.txt'
    names.write_text('Ada\nGrace\n')
    messages = epoch('valid', cosmo_names_file=str(names))
    assert {(m['speaker'], m['listener']) for m in messages} <= {('Ada', 'Grace'), ('Grace', 'Ada')}


def test_training_drops():
    everything = epoch('train:ordered', cosmo_drop_narrative=1.0, cosmo_drop_instruction=1.0)
    assert [m['text'] for m in everything] == expected('train', everything, True, True)
    default = [m['text'] for m in epoch('train:ordered')]
    assert default == [m['text'] for m in epoch('train:ordered')]  # seeded
    full = expected('train', everything)
    variants = [expected('train', everything, n, i) for n in (0, 1) for i in (0, 1)]
    assert all(text in {v[k] for v in variants} for k, text in enumerate(default))
    assert default != full


@pytest.mark.parametrize(
    'rot,clause',
    [
        ("It's wrong to think all men are violent.", "it's wrong to think all men are violent."),
        ('You should ask first', 'you should ask first.'),
        ('I think honesty matters!', 'I think honesty matters!'),
        ('NASA engineers deserve respect.', 'NASA engineers deserve respect.'),
    ],
)
def test_rot_clause(rot, clause):
    assert rot_clause(rot) == clause


def test_stream_and_in_memory_give_the_same_inputs():
    # DialogTeacher's stream mode calls next_example from inside itself: drops must apply once
    texts = [
        [m['text'] for m in epoch(datatype)]
        for datatype in ('train:ordered', 'train:stream:ordered')
    ]
    assert texts[0] == texts[1]
