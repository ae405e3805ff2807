"""
Prost (``-m prost``), its presets, the RoT & Response teacher's evaluation, and ``zoo:prost/model``.

One tiny Prost is trained once for the session with ``-o prosocial/tiny_prost`` (the paper's
seven-dataset mixture, offline) through the ``parlai`` command; the other tests evaluate it, chat
with it and install it as ``zoo:prost/model``. The rest runs with tiny untrained models. Everything
runs in this process.
"""

import json
import os

import pytest
import torch

from parlai.core.agents import create_agent
from parlai.core.build_data import modelzoo_path
from parlai.core.message import Message
from parlai.core.metrics import F1Metric
from parlai.core.opt import Opt
from parlai.core.params import ParlaiParser
from parlai.core.torch_agent import Output
from parlai.core.worlds import create_task_agent_from_taskname
from parlai.scripts.eval_model import setup_args as eval_model_args

from parlai_prosocial.agents.prost.agents import ProstAgent, ProstHistory, split_output
from parlai_prosocial.formats import (
    BEAM_ROTS_FIELD,
    ROTS_END,
    ROTS_TEXT_FIELD,
    split_rot_response,
)
from parlai_prosocial.tasks.topical_chat.build import DATA_DIR_ENV as TOPICAL_CHAT_ENV
from parlai_prosocial.samples import write_casual, write_sample
from parlai_prosocial.zoo.prost import install as install_cli
from parlai_prosocial.zoo.prost import model as prost_zoo

from parlai_prosocial import testing

TINY_ARCH = ['--n-layers', '1', '--n-heads', '2', '--embedding-size', '16', '--ffn-size', '32']

# ---------------------------------------------------------------- the tiny Prost, trained once


#: a training opener of the sample whose RoTs the tiny Prost has learnt to write: greedy, "it is
#: wrong to call 911 just for fun . __endrots__ please ..."; the steps that decide that the RoTs
#: and the reply are not empty (the first token, and the ones after each end of the RoTs) win by
#: 3.6 nats or more after the fixture's 30 epochs
FITTED_OPENER = "I'm going to call 911 just for fun tonight."
#: the preset's 60 epochs halved: the fit above holds after 30, and this build was the suite's
#: longest
TINY_PROST_EPOCHS = 30


def _chat(model_file, text):
    """
    The greedy reply of the model ``model_file`` to ``text``, as ``parlai interactive`` gets it.
    """
    from parlai.core.agents import create_agent_from_model_file

    agent = create_agent_from_model_file(model_file, {'interactive_mode': True})
    agent.observe(Message({'text': text, 'episode_done': False}))
    return agent.act()


@pytest.fixture(scope='module')
def tiny_prost(tmp_path_factory, sample_data_dir):
    """
    ``-o prosocial/tiny_prost`` (for :data:`TINY_PROST_EPOCHS`): the paper's seven-dataset
    mixture, offline: ProsocialDialog and Topical-Chat from their bundled samples, the five ParlAI
    casual datasets from the tiny fixtures written into a fresh ``--datapath``. Checked once, when
    built, to write RoTs and a reply for :data:`FITTED_OPENER` (a training context): the one fit a
    test relies on.
    """

    def build(workdir):
        datapath = os.path.join(workdir, 'data')
        write_casual(datapath)
        topical_chat_dir = write_sample('topical_chat', os.path.join(workdir, 'topical_chat'))
        model_file = os.path.join(workdir, 'model')
        env = dict(PROSOCIAL_DATA_DIR=sample_data_dir)
        env[TOPICAL_CHAT_ENV] = topical_chat_dir
        testing.parlai_in_process(
            ['train_model', '-o', 'prosocial/tiny_prost', '-mf', model_file, '--datapath',
             datapath, '--num-epochs', TINY_PROST_EPOCHS],
            cwd=workdir,
            env_extra=env,
        )
        reply = _chat(model_file, FITTED_OPENER)
        assert reply[ROTS_TEXT_FIELD] and reply['text'], (
            f'the tiny Prost ({model_file}) does not write RoTs and a reply for its training '
            f'opener {FITTED_OPENER!r} (it wrote RoTs {reply[ROTS_TEXT_FIELD]!r}, reply '
            f'{reply["text"]!r}), which test_interactive_from_the_zoo_shows_reply_and_rots_apart '
            'relies on: train it longer, or the fixture is broken'
        )
        return model_file

    return testing.built_once(tmp_path_factory, 'tiny_prost', build)


def test_tiny_prost_preset_trains_a_prost(tiny_prost):
    model_file = tiny_prost
    assert os.path.isfile(model_file)  # (its .opt and .dict are read below)
    opt = json.load(open(model_file + '.opt'))
    assert opt['model'] == 'prost'
    assert opt['task'] == Opt.load_init('prosocial/prost')['task']
    assert list(opt['multitask_weights']) == [9, 3, 3, 3, 3, 3, 1]
    assert opt['special_tok_lst'] == ROTS_END
    dict_tokens = [line.split('\t')[0] for line in open(model_file + '.dict')]
    assert ROTS_END in dict_tokens
    # the final evaluation covers every task of the mixture: one per-task report each, non-empty
    # (the log names every task anyway, since ParlAI logs the whole opt)
    with open(model_file + '.trainstats') as f:
        final = json.load(f)['final_valid_report']
    per_task = {key.split('/')[0]: value for key, value in final.items() if key.endswith('/exs')}
    assert len(per_task) == len(opt['task'].split(',')) == 7, sorted(per_task)
    assert all(exs > 0 for exs in per_task.values()), per_task
    assert final['exs'] == sum(per_task.values())


def test_eval_scores_the_reply_and_the_rots_apart(tiny_prost, tmp_path, sample_data_dir):
    model_file = tiny_prost
    report_file, logs = str(tmp_path / 'report.json'), str(tmp_path / 'logs.jsonl')
    testing.parlai_in_process(
        [
            'eval_model', '-mf', model_file, '-t', 'prosocial:rot_response',
            '--datatype', 'valid', '--metrics', 'bleu-4,f1,ppl',
            '--report-filename', report_file, '--world-logs', logs,
        ],
        cwd=str(tmp_path),
        env_extra=dict(PROSOCIAL_DATA_DIR=sample_data_dir),
    )
    report = json.load(open(report_file))['report']
    assert report['exs'] == 2  # the sample's valid split: two turns, both with RoTs
    for name in ('f1', 'bleu-4', 'ppl', 'response_ppl', 'rot_f1', 'rot_bleu-4', 'rots_generated'):
        assert name in report, name
    assert report['ppl'] > 1 and report['response_ppl'] > 1

    replies, gold_replies = [], []
    for line in open(logs):
        for teacher_msg, model_msg in json.loads(line)['dialog']:
            assert ROTS_END not in model_msg['text']  # the reply alone is what the model says
            assert ROTS_TEXT_FIELD in model_msg
            replies.append(model_msg['text'])
            gold_replies.append(split_rot_response(teacher_msg['eval_labels'][0])[1])
    # the reported f1 is the f1 of those replies against the gold replies, not the RoT+reply label
    expected_f1 = sum(
        F1Metric.compute(reply, [gold]).value() for reply, gold in zip(replies, gold_replies)
    ) / len(replies)
    assert report['f1'] == pytest.approx(expected_f1, abs=1e-4)


def test_interactive_from_the_zoo_shows_reply_and_rots_apart(tiny_prost, tmp_path):
    model_file = tiny_prost
    datapath = str(tmp_path / 'data')
    assert install_cli.main([model_file, '--datapath', datapath]) == 0
    # a script chats through stdin, as `printf ... | parlai interactive ...` does: three training
    # openers that have RoTs, each its own episode ([DONE] resets the chat)
    openers = [
        FITTED_OPENER,
        'I told my coworker her cooking smells weird.',
        "My neighbour's dog keeps barking and I want to poison it.",
    ]
    out = testing.parlai_in_process(
        ['interactive', '-mf', 'zoo:prost/model', '--datapath', datapath,
         '--display-add-fields', ROTS_TEXT_FIELD],
        stdin='\n[DONE]\n'.join(openers) + '\n[EXIT]\n',
        cwd=str(tmp_path),
    ).output
    lines = out.splitlines()
    rots_tag, reply_tag = f'[{ROTS_TEXT_FIELD}]:', '[Prost]:'
    rots = [line.split(rots_tag, 1)[1].strip() for line in lines if rots_tag in line]
    replies = [line.split(reply_tag, 1)[1].strip() for line in lines if reply_tag in line]
    assert len(rots) == len(replies) == 3, out[-3000:]
    assert all(ROTS_END not in text for text in rots + replies), (rots, replies)
    # shown apart: the RoTs and the reply the tiny model has learnt for the fitted opener (its
    # fixture checked it writes both; for the other two only the form is checked)
    assert rots[0] and replies[0], (rots, replies)


# ---------------------------------------------------------------- splitting and history


def test_split_output_moves_rots_off_text_and_beams():
    output = Output(
        ['rot one . rot two . __endrots__ the reply .', 'just a reply', None],
        beam_texts=[
            [('a rot __endrots__ reply a', -1.0), ('reply b', -2.0)],
            [('reply c', -0.5)],
            [],
        ],
    )
    split_output(output)
    assert output['text'] == ['the reply .', 'just a reply', None]
    assert output[ROTS_TEXT_FIELD] == ['rot one . rot two .', '', None]
    assert output['beam_texts'][0] == [('reply a', -1.0), ('reply b', -2.0)]
    assert output[BEAM_ROTS_FIELD] == [['a rot', ''], [''], []]
    assert split_output(None) is None


def test_a_reply_never_keeps_a_marker_even_when_the_model_writes_several():
    two_markers = f'a . {ROTS_END} b . {ROTS_END} the reply'
    assert split_rot_response(two_markers) == ('a . b .', 'the reply')
    assert split_rot_response(f'{ROTS_END} just a reply') == ('', 'just a reply')
    assert split_rot_response(f'a rot {ROTS_END}') == ('a rot', '')
    output = split_output(Output([f'x {ROTS_END} you . {ROTS_END} you .']))
    assert output['text'] == ['you .'] and output[ROTS_TEXT_FIELD] == ['x you .']
    assert ProstHistory.last_reply(f'x {ROTS_END} y {ROTS_END} z') == 'z'
    assert ProstHistory.last_reply('rot a . rot b . __endrots__ the reply') == 'the reply'
    assert ProstHistory.last_reply('no rots here') == 'no rots here'


def test_match_batch_puts_reply_and_rots_on_each_message():
    output = split_output(Output(['r1 __endrots__ hello', 'hi']))
    replies = [Message({'id': 'Prost'}) for _ in range(3)]
    ProstAgent.match_batch(None, replies, [2, 0], output)
    assert replies[2]['text'] == 'hello' and replies[2][ROTS_TEXT_FIELD] == 'r1'
    assert replies[0]['text'] == 'hi' and replies[0][ROTS_TEXT_FIELD] == ''
    assert 'text' not in replies[1]


def _parse(args, datapath, monkeypatch, parser=None):
    # ParlaiParser writes --datapath into os.environ; monkeypatch restores it afterwards
    monkeypatch.setenv('PARLAI_DATAPATH', str(datapath))
    parser = parser or ParlaiParser(True, True)
    return parser.parse_args(list(args) + ['--datapath', str(datapath)])


def test_rots_never_enter_the_history(tmp_path, monkeypatch):
    opt = _parse(['-m', 'prost', '--label-truncate', '8'] + TINY_ARCH, tmp_path, monkeypatch)
    agent = create_agent(opt)
    assert isinstance(agent, ProstAgent) and isinstance(agent.history, ProstHistory)
    # --use-reply label (the default): the gold label, RoTs included, becomes the bot's turn
    agent.observe(
        Message(
            {
                'text': 'i will call 911 for fun',
                'eval_labels': ['it is wrong to prank call . __endrots__ please do not .'],
                'episode_done': False,
            }
        )
    )
    agent.act()
    agent.observe(
        Message({'text': 'why not ?', 'eval_labels': ['because .'], 'episode_done': False})
    )
    history = agent.history.get_history_str()
    assert history == 'i will call 911 for fun\nplease do not .\nwhy not ?'
    assert 'wrong' not in history and ROTS_END not in history


def test_endrots_is_one_token_by_default(tmp_path, monkeypatch):
    opt = _parse(['-m', 'prost', '--dict-tokenizer', 're'] + TINY_ARCH, tmp_path, monkeypatch)
    agent = create_agent(opt)
    assert agent.opt['special_tok_lst'] == ROTS_END
    assert agent.dict.tokenize(f'be kind.{ROTS_END}sure') == ['be', 'kind', '.', ROTS_END, 'sure']
    # added even when the user lists other special tokens
    opt = _parse(
        ['-m', 'prost', '--special-tok-lst', '__other__'] + TINY_ARCH, tmp_path, monkeypatch
    )
    assert create_agent(opt)._get_special_tokens() == [ROTS_END, '__other__']


def test_endrots_is_one_token_with_bytelevelbpe(tmp_path, monkeypatch, sample_data_dir):
    from tokenizers import ByteLevelBPETokenizer

    texts = []
    for line in open(os.path.join(sample_data_dir, 'train.json')):
        row = json.loads(line)
        texts.append(' '.join([row['context'], row['response']] + (row['rots'] or [])))
    tokenizer = ByteLevelBPETokenizer()
    tokenizer.train_from_iterator(texts * 3, vocab_size=300, min_frequency=1, show_progress=False)
    tokenizer.save_model(str(tmp_path))
    args = ['-m', 'prost', '--dict-tokenizer', 'bytelevelbpe']
    args += ['--bpe-vocab', str(tmp_path / 'vocab.json')]
    args += ['--bpe-merge', str(tmp_path / 'merges.txt')]
    agent = create_agent(_parse(args + TINY_ARCH, tmp_path, monkeypatch))
    vec = agent.dict.txt2vec(f'It is wrong to lie. {ROTS_END} Please stop.')
    assert vec.count(agent.dict[ROTS_END]) == 1
    assert ROTS_END not in [agent.dict[i] for i in vec if i != agent.dict[ROTS_END]]
    rots, reply = split_rot_response(agent.dict.vec2txt(vec))
    assert (rots, reply) == ('It is wrong to lie.', 'Please stop.')


def test_init_from_a_checkpoint_without_endrots_resizes_embeddings(tmp_path, monkeypatch):
    base = str(tmp_path / 'base' / 'model')
    os.makedirs(os.path.dirname(base))
    opt = _parse(
        ['-m', 'transformer/generator', '-mf', base, '--dict-tokenizer', 're'] + TINY_ARCH,
        tmp_path,
        monkeypatch,
    )
    generator = create_agent(opt)
    for word in 'you should be kind to others please'.split():
        generator.dict.add_token(word)
    generator.model = generator.build_model()  # embeddings for the words just added
    generator.save(base)
    base_rows = generator.model.embeddings.weight.detach().clone()
    assert ROTS_END not in generator.dict.tok2ind

    opt = _parse(
        ['-m', 'prost', '--init-model', base, '-mf', str(tmp_path / 'prost' / 'model')]
        + TINY_ARCH,
        tmp_path,
        monkeypatch,
    )
    prost = create_agent(opt)
    assert prost.dict[ROTS_END] == len(base_rows)  # appended after the checkpoint's dictionary
    assert getattr(prost, 'resized_embeddings', False)
    weights = prost.model.embeddings.weight.detach()
    assert weights.shape[0] == len(base_rows) + 1
    assert torch.equal(weights[: len(base_rows)], base_rows)


# ---------------------------------------------------------------- the teacher's evaluation


@pytest.fixture
def rot_response_teacher(tmp_path, monkeypatch, sample_data_dir):
    opt = _parse(
        [
            '-t', 'prosocial:rot_response', '--prosocial-data-dir', sample_data_dir,
            '--datatype', 'test', '--metrics', 'bleu-4,f1',
        ],
        tmp_path,
        monkeypatch,
        parser=eval_model_args(),
    )
    teacher = create_task_agent_from_taskname(opt)[0]
    action = teacher.act()
    gold_rots, gold_reply = split_rot_response(action['eval_labels'][0])
    assert gold_rots and gold_reply
    # what ParlAI's default evaluation did, the reply against the raw label, scores less
    assert F1Metric.compute(gold_reply, [f'{gold_rots} {ROTS_END} {gold_reply}']).value() < 1
    return teacher, gold_rots, gold_reply


def _scores(teacher, model_message):
    observed = teacher.observe(model_message)
    return {k: v.value() for k, v in teacher.report().items()}, observed


def test_teacher_scores_a_plain_generators_raw_text_on_its_reply(rot_response_teacher):
    teacher, gold_rots, gold_reply = rot_response_teacher
    raw = f'{gold_rots} {ROTS_END} {gold_reply}'
    scores, observed = _scores(teacher, Message({'id': 'generator', 'text': raw}))
    assert scores['f1'] == 1 and scores['accuracy'] == 1 and scores['bleu-4'] == pytest.approx(1)
    assert scores['rot_f1'] == 1 and scores['rot_bleu-4'] == pytest.approx(1)
    assert scores['rots_generated'] == 1
    assert observed['text'] == raw  # the model's message is left as it is
    assert observed['metrics']['f1'].value() == 1  # per-example metrics for display_model


@pytest.mark.parametrize(
    'fields, expected',
    [
        ({ROTS_TEXT_FIELD: 'gold'}, {'f1': 1, 'rot_f1': 1, 'rots_generated': 1}),
        ({ROTS_TEXT_FIELD: ''}, {'f1': 1, 'rot_f1': 0, 'rots_generated': 0}),
        ({}, {'f1': 1}),  # no RoTs field: the reply alone, not against the raw label
    ],
    ids=['reply and rots', 'no generated rots', 'reply alone'],
)
def test_teacher_scores_prosts_reply_and_rots(rot_response_teacher, fields, expected):
    teacher, gold_rots, gold_reply = rot_response_teacher
    fields = {k: gold_rots if v == 'gold' else v for k, v in fields.items()}
    scores, _ = _scores(teacher, Message(dict(fields, id='Prost', text=gold_reply)))
    assert {k: scores[k] for k in expected} == expected


# ---------------------------------------------------------------- presets


@pytest.mark.parametrize('name', ['prost', 'prost_response_only'])
def test_full_scale_presets_parse(name, tmp_path, monkeypatch):
    from parlai.scripts.train_model import setup_args

    preset = Opt.load_init(f'prosocial/{name}')
    first_task = 'prosocial:rot_response' if name == 'prost' else 'prosocial:response'
    assert preset['task'].split(',') == [
        first_task, 'dailydialog', 'topical_chat', 'convai2', 'wizard_of_wikipedia',
        'empathetic_dialogues', 'blended_skill_talk',
    ]
    assert preset['multitask_weights'] == [9, 3, 3, 3, 3, 3, 1]
    monkeypatch.setenv('PARLAI_DATAPATH', str(tmp_path))
    # --dict-file given so that parsing does not fetch zoo:blender/reddit_3B (5 GB)
    common = ['-o', f'prosocial/{name}', '--dict-file', str(tmp_path / 'x.dict')]
    common += ['-mf', str(tmp_path / 'model'), '--datapath', str(tmp_path)]
    opt = setup_args().parse_args(common)
    assert opt['model'] == 'prost' and opt['init_model'] == 'zoo:blender/reddit_3B/model'
    assert (opt['n_encoder_layers'], opt['n_decoder_layers']) == (2, 24)
    assert (opt['embedding_size'], opt['ffn_size'], opt['n_heads']) == (2560, 10240, 32)
    assert (opt['optimizer'], opt['learningrate'], opt['warmup_updates']) == ('adam', 1e-5, 100)
    assert (opt['lr_scheduler'], opt['validation_metric'], opt['batchsize']) == (
        'reduceonplateau', 'ppl', 32,
    )
    assert opt['special_tok_lst'] == ROTS_END
    # the command line wins over the preset
    opt = setup_args().parse_args(common + ['--multitask-weights', '1,1,1,1,1,1,1'])
    assert list(opt['multitask_weights']) == [1] * 7


def test_pushshift_preset_is_the_reddit_3b_architecture():
    arch = Opt.load_init('prosocial/pushshift_2.7B')
    assert arch['model'] == 'transformer/generator'
    expected = {
        'n_encoder_layers': 2, 'n_decoder_layers': 24, 'embedding_size': 2560,
        'ffn_size': 10240, 'n_heads': 32, 'activation': 'gelu', 'variant': 'prelayernorm',
        'n_positions': 128, 'dict_tokenizer': 'bytelevelbpe',
        'learn_positional_embeddings': True,
    }
    assert {k: arch[k] for k in expected} == expected
    prost = Opt.load_init('prosocial/prost')
    assert {k: prost[k] for k in arch if k != 'model'} == {k: arch[k] for k in arch if k != 'model'}


# ---------------------------------------------------------------- zoo:prost/model


def _fake_checkpoint(directory, model='prost'):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, 'model')
    for suffix, content in (('', 'weights'), ('.dict', '__endrots__\t1\n')):
        with open(path + suffix, 'w') as f:
            f.write(content)
    with open(path + '.opt', 'w') as f:
        json.dump({'model': model, 'dict_file': path + '.dict', 'task': 'prosocial'}, f)
    return path


def test_zoo_without_a_checkpoint_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.delenv(prost_zoo.CHECKPOINT_ENV, raising=False)
    with pytest.raises(prost_zoo.ProstCheckpointNotFound) as error:
        modelzoo_path(str(tmp_path), 'zoo:prost/model')  # ParlAI's own resolution
    message = str(error.value)
    assert 'never released' in message
    assert 'python -m parlai_prosocial.zoo.prost.install' in message
    assert prost_zoo.CHECKPOINT_ENV in message
    assert not os.path.exists(os.path.join(tmp_path, 'models', 'prost', '.built'))


def test_zoo_install_then_resolve(tmp_path, monkeypatch):
    monkeypatch.delenv(prost_zoo.CHECKPOINT_ENV, raising=False)
    source = _fake_checkpoint(str(tmp_path / 'trained'))
    datapath = str(tmp_path / 'data')
    assert install_cli.main([os.path.dirname(source), '--datapath', datapath]) == 0
    resolved = modelzoo_path(datapath, 'zoo:prost/model')
    assert resolved == os.path.join(datapath, 'models', 'prost', 'model')
    assert open(resolved).read() == 'weights'
    installed_opt = json.load(open(resolved + '.opt'))
    assert 'dict_file' not in installed_opt  # ParlAI uses the model.dict beside it
    built = open(os.path.join(datapath, 'models', 'prost', '.built')).read().split('\n')
    assert built[1] == prost_zoo.VERSION
    assert json.load(open(os.path.join(datapath, 'models', 'prost', 'source.json')))['source'] == (
        os.path.realpath(source)
    )


def test_zoo_installs_from_the_environment_and_refreshes(tmp_path, monkeypatch):
    source = _fake_checkpoint(str(tmp_path / 'trained'))
    datapath = str(tmp_path / 'data')
    monkeypatch.setenv(prost_zoo.CHECKPOINT_ENV, source)
    resolved = modelzoo_path(datapath, 'zoo:prost/model')
    assert open(resolved).read() == 'weights'
    with open(source, 'w') as f:
        f.write('retrained weights')
    modelzoo_path(datapath, 'zoo:prost/model')
    assert open(resolved).read() == 'retrained weights'


def test_zoo_refuses_incomplete_or_non_prost_checkpoints(tmp_path):
    # (at the command line each is one line, exit status 1: parlai_prosocial.errors)
    incomplete = _fake_checkpoint(str(tmp_path / 'incomplete'))
    os.remove(incomplete + '.dict')
    with pytest.raises(prost_zoo.ProstCheckpointNotFound, match='missing'):
        install_cli.main([incomplete, '--datapath', str(tmp_path / 'data')])
    generator = _fake_checkpoint(str(tmp_path / 'generator'), model='transformer/generator')
    with pytest.raises(prost_zoo.ProstCheckpointNotFound, match='not Prost'):
        install_cli.main([generator, '--datapath', str(tmp_path / 'data')])
    assert not os.path.exists(tmp_path / 'data' / 'models' / 'prost' / '.built')
