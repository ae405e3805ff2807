"""
Table 2's GPT-2 row (App. C.1: GPT-2 fine-tuned to generate the safety label, the labels treated as
special tokens): ``-o prosocial/table2_gpt2`` with ParlAI's ``hugging_face/gpt2`` on a tiny GPT-2
built offline (``--model-name DIR``), trained and evaluated with the ``parlai`` commands (run in
this process).
"""

import json
import os

import pytest

from parlai_prosocial import testing
from parlai_prosocial.baselines.tiny_gpt2 import build_tiny_gpt2
from parlai_prosocial.formats import SAFETY_LABELS


def test_gpt2_preset_is_the_papers_row():
    from parlai.core.opt import Opt

    preset = Opt.load_init('prosocial/table2_gpt2')
    assert (preset['model'], preset['gpt2_size']) == ('hugging_face/gpt2', 'small')
    assert preset['task'] == 'prosocial:safety_classification'
    assert preset['special_tok_lst'].split(',') == list(SAFETY_LABELS)
    canary = Opt.load_init('prosocial/canary_t5_baseline')
    for key in ('optimizer', 'learningrate', 'batchsize', 'validation_metric',
                'validation_patience'):
        assert preset[key] == canary[key], key  # the paper gives none: Canary's (B.1)


@pytest.fixture(scope='module')
def trained_gpt2(tmp_path_factory, sample_data_dir):
    """
    The tiny GPT-2 fine-tuned on the sample's training split until it reproduces every label
    (100 epochs: each label token, and the end after it, wins by 8.5 nats or more; 40 epochs left
    half of them wrong, right at the test's old 0.5 threshold). Checked once here.
    """
    from parlai.core.agents import create_agent_from_model_file
    from parlai.core.message import Message

    directory = tmp_path_factory.mktemp('table2_gpt2')
    gpt2 = build_tiny_gpt2(str(directory / 'gpt2'))
    model_file = str(directory / 'model')
    testing.parlai_in_process(
        ['train_model', '-o', 'prosocial/table2_gpt2', '--model-name', gpt2, '-mf', model_file,
         '--batchsize', '4', '--eval-batchsize', '4', '--learningrate', '0.01',
         '--num-epochs', '100', '--validation-every-n-epochs', '-1'],
        cwd=str(directory), env_extra=dict(PROSOCIAL_DATA_DIR=sample_data_dir),
    )
    agent = create_agent_from_model_file(model_file)
    teacher = testing.create_teacher('prosocial:safety_classification', 'train:evalmode',
                                     prosocial_data_dir=sample_data_dir)
    wrong = []
    for message in testing.one_epoch(teacher):
        agent.observe(Message({'text': message['text'], 'episode_done': True}))
        reply = agent.act()['text'].strip()
        if reply != message['eval_labels'][0]:
            wrong.append(f'{message["text"]!r}: {reply!r}, expected {message["eval_labels"][0]!r}')
    assert not wrong, (
        'the tiny GPT-2 does not reproduce its training labels, the precondition of '
        'test_gpt2_generates_the_safety_label: ' + '; '.join(wrong)
        + '. Train it longer, or the fixture is broken.'
    )
    return model_file


def test_gpt2_generates_the_safety_label(trained_gpt2, sample_data_dir, tmp_path):
    from parlai.core.agents import create_agent_from_model_file

    agent = create_agent_from_model_file(trained_gpt2)
    for label in SAFETY_LABELS:  # special tokens: one token each
        assert len([t for t in agent.dict.txt2vec(label)]) == 1, label
    # their embedding rows were added, saved with the model and read back
    assert agent.model.decoder.transformer.wte.weight.shape[0] == len(agent.dict.hf_tokenizer)
    report = str(tmp_path / 'report.json')
    testing.parlai_in_process(
        ['eval_model', '-mf', trained_gpt2, '-t', 'prosocial:safety_classification',
         '-dt', 'train:evalmode', '--batchsize', '4', '--report-filename', report,
         '--world-logs', str(tmp_path / 'logs.jsonl')],
        cwd=str(tmp_path), env_extra=dict(PROSOCIAL_DATA_DIR=sample_data_dir),
    )
    accuracy = json.load(open(report))['report']['accuracy']
    assert accuracy == 1.0  # its training split, which its fixture checked it reproduces
    replies = [r['text'].strip() for line in open(str(tmp_path / 'logs.jsonl'))
               for _, r in json.loads(line)['dialog']]
    assert replies and all(r in SAFETY_LABELS for r in replies), replies
    assert os.path.isfile(trained_gpt2 + '.opt')


def test_dialogpt_local_loads_model_and_tokenizer_from_the_directory(tmp_path, monkeypatch):
    """
    ``-m dialogpt_local --model-name DIR``: ParlAI's DialoGPT agent would fetch
    ``microsoft/DialoGPT-<size>`` from the hub whatever ``--model-name`` says.
    """
    import torch
    from parlai.core.agents import create_agent
    from parlai.core.params import ParlaiParser
    from transformers import GPT2Model

    from parlai_prosocial.agents.dialogpt_local.agents import DialogptLocalAgent

    directory = build_tiny_gpt2(str(tmp_path / 'gpt2'), seed=3)
    monkeypatch.setenv('PARLAI_DATAPATH', str(tmp_path))
    opt = ParlaiParser(True, True).parse_args(
        ['-m', 'dialogpt_local', '--model-name', directory, '--datapath', str(tmp_path)]
    )
    agent = create_agent(opt)
    assert isinstance(agent, DialogptLocalAgent)
    assert agent.dict.hf_tokenizer.name_or_path == directory
    loaded = agent.model.decoder.transformer.h[0].attn.c_attn.weight
    expected = GPT2Model.from_pretrained(directory).h[0].attn.c_attn.weight
    assert torch.equal(loaded, expected)


@pytest.mark.parametrize('preset,model', [('table2_gpt2_rots', 'hugging_face/gpt2'),
                                          ('table2_dialogpt_rots', 'dialogpt_local')])
def test_rot_generation_presets(preset, model):
    from parlai.core.opt import Opt

    opt = Opt.load_init(f'prosocial/{preset}')
    assert (opt['model'], opt['task']) == (model, 'prosocial:rots')
    assert (opt['optimizer'], opt['learningrate'], opt['skip_generation']) == ('adam', 1e-5, False)
