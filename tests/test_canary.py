"""
Canary (``-m canary``), offline: the session's tiny Canary (``tiny_canary`` in conftest.py: a tiny
T5 trained on ``prosocial:safety`` until it reproduces the sample's targets, which its fixture
checks) evaluated with the ``parlai`` command, its targets parsed into ``safety_label`` and
``rots``; the ``casual_safety`` wrapper teacher; the presets; and ``zoo:canary/model`` (local
installs, and the sha256 check of the download path with the network call replaced). Its labels
are asserted on its training contexts only: what it does elsewhere is a float decision of a tiny
model, which differs between CPUs.
"""

import json
import os
import tarfile

import pytest

from parlai_prosocial import testing
from parlai_prosocial.agents.canary import context_text, parse_canary_output
from parlai_prosocial.formats import SAFETY_LABELS
from parlai_prosocial.samples import write_casual
from parlai_prosocial.testing.samples import prosocial_dialogues

SAMPLE = prosocial_dialogues()
KNOWN_CONTEXT = SAMPLE['train'][0][0]['context']  # "I'm going to call 911 just for fun tonight."
KNOWN_ROTS = ', '.join(SAMPLE['train'][0][0]['rots'])


@pytest.fixture(scope='module')
def env(sample_data_dir):
    # offline and one torch thread come from the root conftest.py
    return dict(PROSOCIAL_DATA_DIR=sample_data_dir)


@pytest.fixture(scope='module')
def trained(tiny_canary):
    """
    The session's tiny Canary, overfit on the sample's training split: its ``-mf`` directory.
    """
    return os.path.dirname(tiny_canary)


# --- its input (its output's parsing: test_canary_output_bad_input.py) ---------------------------


def test_context_text_joins_turns_like_the_safety_teacher():
    assert context_text('one turn') == 'one turn'
    assert context_text(['a', 'b', 'c']) == 'a\nb\nc'


# --- the tiny T5 and --t5-model-arch -----------------------------------------------------------


def test_tiny_t5_tokenizer_keeps_targets_and_ends_with_eos(tiny_t5):
    from transformers import T5Config, T5TokenizerFast

    tokenizer = T5TokenizerFast.from_pretrained(tiny_t5)
    config = T5Config.from_pretrained(tiny_t5)
    assert config.vocab_size == len(tokenizer)
    assert (tokenizer.pad_token_id, tokenizer.eos_token_id) == (0, 1)
    assert config.decoder_start_token_id == tokenizer.pad_token_id
    target = f'__needs_caution__ {KNOWN_ROTS}'
    ids = tokenizer.encode(target)
    assert ids[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(ids, skip_special_tokens=True) == target
    # like T5-large's, its vocabulary has no label tokens: Canary adds them (next test)
    assert not set(SAFETY_LABELS) & set(tokenizer.get_vocab())


def test_labels_are_special_tokens_saved_with_the_model(trained, tiny_t5, tmp_path):
    """
    §4.1: each safety label is one special token, past the T5's own vocabulary, with an
    embedding row of its own saved in the model file; ``-mf``, ``zoo:canary/model`` and the guard
    read the same tokens and rows back, and decoding keeps them (the label parses).
    """
    import torch
    from parlai.core.agents import create_agent, create_agent_from_model_file
    from parlai.core.params import ParlaiParser
    from transformers import T5Config

    from parlai_prosocial.agents.canary import load_canary
    from parlai_prosocial.zoo.canary import build

    vocab = T5Config.from_pretrained(tiny_t5).vocab_size
    model_file = os.path.join(trained, 'model')
    assert json.load(open(model_file + '.opt'))['special_tok_lst'] == ','.join(SAFETY_LABELS)
    saved = torch.load(model_file, map_location='cpu')['model']['t5.shared.weight']
    assert saved.shape[0] == vocab + len(SAFETY_LABELS)

    datapath = str(tmp_path / 'data')
    build.install(trained, datapath)
    guard = create_agent(ParlaiParser(True, True).parse_args(
        ['-m', 'canary_guard', '--canary-model-file', model_file, '--guarded-model',
         'repeat_query']
    ))
    loaded = {
        '-mf': create_agent_from_model_file(model_file),
        'zoo': load_canary('zoo:canary/model', datapath=datapath),
        'guard': guard.canary,
    }
    for how, canary in loaded.items():
        eos = canary.dict.end_idx
        assert [canary.dict.txt2vec(label) for label in SAFETY_LABELS] == [
            [vocab + i, eos] for i in range(len(SAFETY_LABELS))
        ], how
        assert torch.equal(canary.model.t5.shared.weight, saved), how
        assert canary.dict.vec2txt(canary.dict.txt2vec('__casual__')) == '__casual__', how
        assert canary.classify(KNOWN_CONTEXT) == ('__needs_caution__', KNOWN_ROTS), how


def test_t5_model_arch_takes_a_local_directory_or_a_hub_name(tiny_t5, tmp_path, monkeypatch):
    import argparse

    from parlai.core.params import ParlaiParser

    from parlai_prosocial.agents.canary.agents import t5_model_arch

    monkeypatch.chdir(tmp_path)
    relative = os.path.relpath(tiny_t5)
    opt = ParlaiParser(True, True).parse_args(['-m', 'canary', '--t5-model-arch', relative])
    assert opt['t5_model_arch'] == tiny_t5  # the relative path, made absolute
    assert ParlaiParser(True, True).parse_args(['-m', 'canary'])['t5_model_arch'] == 't5-large'
    assert t5_model_arch('google/flan-t5-large') == 'google/flan-t5-large'
    with pytest.raises(argparse.ArgumentTypeError, match='config.json'):
        t5_model_arch(str(tmp_path))
    with pytest.raises(argparse.ArgumentTypeError, match='no such directory'):
        t5_model_arch(str(tmp_path / 'missing'))


def test_a_checkpoint_without_label_tokens_starts_a_run_with_them(tiny_t5, tmp_path):
    """
    ``--special-tok-lst ''`` keeps the labels as text (T5's pieces, as the release has them); a
    run started from such a checkpoint (``--init-model``) adds the tokens and keeps its rows.
    """
    import torch
    from parlai.core.agents import create_agent
    from parlai.core.params import ParlaiParser

    def canary(*args):
        return create_agent(ParlaiParser(True, True).parse_args(
            ['-m', 'canary', '--t5-model-arch', tiny_t5, '--datapath', str(tmp_path)] + list(args)
        ))

    plain = canary('--special-tok-lst', '')
    rows = plain.model.t5.shared.weight
    assert len(plain.dict.hf_tokenizer) == rows.shape[0]  # nothing added
    plain.save(str(tmp_path / 'plain'))
    grown = canary('--init-model', str(tmp_path / 'plain'), '-mf', str(tmp_path / 'new'))
    assert [len(grown.dict.txt2vec(label)) for label in SAFETY_LABELS] == [2] * 5
    weight = grown.model.t5.shared.weight
    assert weight.shape[0] == rows.shape[0] + len(SAFETY_LABELS)
    assert torch.equal(weight[: rows.shape[0]], rows)


# --- training, evaluation, parsed fields --------------------------------------------------------


def test_trained_canary_writes_labels_and_rots_that_parse(trained, tiny_t5, tmp_path, env):
    """
    Evaluation through ``zoo:canary/model`` installed from ``$CANARY_CHECKPOINT`` (so one run
    checks the zoo path too): the replies carry the parsed fields and ``safety_acc``.
    """
    opt = json.load(open(os.path.join(trained, 'model.opt')))
    assert opt['model'] == 'canary'
    assert opt['t5_model_arch'] == tiny_t5
    assert opt['dict_class'].endswith('CanaryDictionaryAgent')  # no ParlAI dictionary was built

    datapath = str(tmp_path / 'data')
    logs, report = str(tmp_path / 'world_logs.jsonl'), str(tmp_path / 'report.json')
    testing.parlai_in_process(
        [
            'eval_model',
            '-mf', 'zoo:canary/model',
            '--datapath', datapath,
            '-t', 'prosocial:safety',
            '-dt', 'train:evalmode',
            '--world-logs', logs,
            '--report-filename', report,
        ],
        cwd=str(tmp_path),
        env_extra=dict(env, CANARY_CHECKPOINT=trained),
    )
    assert open(os.path.join(datapath, 'models', 'canary', 'INSTALLED_FROM')).read().strip() == (
        trained
    )
    replies = {}
    for line in open(logs):
        teacher, reply = json.loads(line)['dialog'][0]
        replies[teacher['text']] = (teacher, reply)
    assert len(replies) == sum(len(d) for d in SAMPLE['train'])
    for teacher, reply in replies.values():
        assert reply['safety_label'] in SAFETY_LABELS
        assert (reply['safety_label'], reply['rots_text']) == parse_canary_output(reply['text'])
    teacher, reply = replies[KNOWN_CONTEXT]
    assert teacher['eval_labels'][0] == f'__needs_caution__ {KNOWN_ROTS}'
    assert reply['text'] == teacher['eval_labels'][0], [
        (t['eval_labels'][0], r['text']) for t, r in replies.values()
    ]
    assert (reply['safety_label'], reply['rots_text']) == ('__needs_caution__', KNOWN_ROTS)
    metrics = json.load(open(report))['report']
    assert metrics['safety_acc'] == 1.0  # its fixture checked it reproduces every target


def test_classify_from_python_and_the_three_way_schema(trained):
    from parlai_prosocial.agents.canary import load_canary

    canary = load_canary(os.path.join(trained, 'model'))
    assert type(canary).__name__ == 'CanaryAgent'
    assert canary.classify(KNOWN_CONTEXT) == ('__needs_caution__', KNOWN_ROTS)
    # a list of turns is the dialogue so far, as the safety teacher writes it (this one is a
    # training context too: the second turn of a dialogue)
    first, second = SAMPLE['train'][1]
    turns = [first['context'], first['response'], second['context']]
    assert canary.classify(turns) == (second['safety_label'], ', '.join(second['rots']))
    assert second['safety_label'] == '__probably_needs_caution__'
    three = load_canary(os.path.join(trained, 'model'), canary_safety_schema='three')
    batch = three.classify_batch([turns, KNOWN_CONTEXT])
    assert batch == [
        ('__needs_caution__', ', '.join(second['rots'])), ('__needs_caution__', KNOWN_ROTS)
    ]


# --- casual examples ----------------------------------------------------------------------------

PARLAI_FORMAT = (
    'text:__SILENCE__\tlabels:Hi there, how are you?\n'
    "text:I'm good. I just got back from a hike.\tlabels:Nice! Where did you go?"
    '\tepisode_done:True\n'
    'text:your persona: I like cats.\\nyour persona: I live in Paris.\\nDo you have pets?'
    '\tlabels:Yes, two cats.\n'
    'text:What are their names?\tlabels:Tom and Luna.\tepisode_done:True\n'
)


def _teacher_messages(args):
    from parlai.core.params import ParlaiParser
    from parlai.core.teachers import create_task_agent_from_taskname

    opt = ParlaiParser(True, False).parse_args(args)
    teacher = create_task_agent_from_taskname(opt)[0]
    messages = []
    for _ in range(teacher.num_examples()):
        messages.append(teacher.act())
    return teacher, messages


@pytest.mark.parametrize('datatype', ['train:ordered', 'valid'])
def test_casual_safety_turns_any_task_into_casual_examples(tmp_path, datatype):
    path = tmp_path / 'dialogues.txt'
    path.write_text(PARLAI_FORMAT)
    teacher, messages = _teacher_messages(
        ['-t', 'casual_safety:fromfile', '--fromfile-datapath', str(path), '-dt', datatype]
    )
    assert teacher.id == 'casual_safety:fromfile'
    texts = [m['text'] for m in messages]
    assert texts == [
        "Hi there, how are you?\nI'm good. I just got back from a hike.",
        'Do you have pets?',
        'Do you have pets?\nYes, two cats.\nWhat are their names?',
    ]
    label_field = 'labels' if datatype.startswith('train') else 'eval_labels'
    for message in messages:
        assert message[label_field] == ['__casual__']
        assert (message['safety_label'], message['rots']) == ('__casual__', [])
        assert message['source'] == 'fromfile'
        assert message['episode_done']


def test_casual_safety_can_keep_context_lines_and_has_a_long_form(tmp_path):
    path = tmp_path / 'dialogues.txt'
    path.write_text(PARLAI_FORMAT)
    _, kept = _teacher_messages(
        ['-t', 'casual_safety:fromfile', '--fromfile-datapath', str(path), '-dt', 'valid',
         '--casual-keep-context-lines', 'true']
    )
    assert kept[0]['text'] == '__SILENCE__'
    assert kept[2]['text'].startswith('your persona: I like cats.\nyour persona: I live in Paris.')
    _, long_form = _teacher_messages(
        ['-t', 'casual_safety:casual_task=fromfile', '--fromfile-datapath', str(path),
         '-dt', 'valid']
    )
    assert [m['text'] for m in long_form][0].startswith('Hi there')


def test_canary_preset_is_the_paper_recipe():
    from parlai.core.opt import Opt

    # Table 2's T5 row; the Canary variants add a norm pre-training stage to it
    # (tests/test_canary_pretraining.py)
    preset = Opt.load_init('prosocial/canary_t5_baseline')
    assert preset['model'] == 'canary' and preset['t5_model_arch'] == 't5-large'
    assert 'init_model' not in preset and preset.get('canary_pretrained_on', 'none') == 'none'
    assert preset['task'].split(',') == [
        'prosocial:safety',
        'casual_safety:dailydialog',
        'casual_safety:empathetic_dialogues',
        'casual_safety:blended_skill_talk',
    ]
    assert preset['multitask_weights'] == [4, 1, 1, 1]
    assert (preset['optimizer'], preset['learningrate'], preset['batchsize']) == ('adam', 1e-5, 24)
    assert (preset['validation_metric'], preset['validation_patience']) == ('ppl', 5)
    assert preset['validation_every_n_epochs'] == 1
    tiny = Opt.load_init('prosocial/tiny_canary')
    assert tiny['model'] == 'canary' and tiny['t5_model_arch'] == 'parlai_prosocial/tiny-t5'
    assert (tiny['task'], tiny['multitask_weights']) == (preset['task'], [4, 1, 1, 1])


def test_tiny_preset_trains_offline_on_the_paper_mixture(tmp_path, env):
    """
    ``-o prosocial/tiny_canary`` as it is: ProsocialDialog and the three casual datasets, 4:1:1:1,
    with the offline fixtures of ParlAI's datasets in the datapath, and the tiny T5 the preset
    names, built into the datapath on first use.
    """
    write_casual(tmp_path / 'data')
    result = testing.parlai_in_process(
        [
            'train_model',
            '-o', 'prosocial/tiny_canary',
            '--datapath', str(tmp_path / 'data'),
            '-mf', str(tmp_path / 'model'),
            '--num-epochs', '2',
        ],
        cwd=str(tmp_path),
        env_extra=env,
    )
    assert os.path.isfile(str(tmp_path / 'model'))
    tiny_t5 = str(tmp_path / 'data' / 'models' / 'parlai_prosocial' / 'tiny_t5')
    assert json.load(open(tmp_path / 'model.opt'))['t5_model_arch'] == tiny_t5
    assert os.path.isfile(os.path.join(tiny_t5, 'config.json'))
    final_test_report = result.output.rpartition('running eval: test')[2]
    for task in ('prosocial', 'casual_safety:dailydialog', 'casual_safety:empathetic_dialogues',
                 'casual_safety:blended_skill_talk'):
        assert task in final_test_report, task
    assert 'safety_acc' in final_test_report


# --- the zoo ------------------------------------------------------------------------------------


def _tar(directory, archive):
    with tarfile.open(archive, 'w:gz') as tar:
        for name in ('model', 'model.opt', 'model.dict'):
            tar.add(os.path.join(directory, name), arcname=name)
    return archive


def test_local_install_makes_zoo_canary_resolve(trained, tmp_path):
    from parlai.core.build_data import built, modelzoo_path

    from parlai_prosocial.zoo.canary import build

    # a checkpoint of ParlAI's T5 agent, as the release most likely is: loaded as Canary
    source = tmp_path / 'run'
    source.mkdir()
    for name in ('model', 'model.dict'):
        (source / f'best{name[5:]}').write_bytes(open(os.path.join(trained, name), 'rb').read())
    opt = json.load(open(os.path.join(trained, 'model.opt')))
    opt['model'] = 'hugging_face/t5'
    (source / 'best.opt').write_text(json.dumps(opt))

    datapath = str(tmp_path / 'data')
    dpath = build.install(str(source / 'best'), datapath, t5_model_arch=opt['t5_model_arch'])
    assert built(dpath, build.VERSION)
    assert modelzoo_path(datapath, 'zoo:canary/model') == os.path.join(dpath, 'model')
    installed = json.load(open(os.path.join(dpath, 'model.opt')))
    assert installed['model'] == 'canary'
    # the T5 agent never adds tokens: the labels stay the text that checkpoint learnt
    assert installed['special_tok_lst'] is None
    assert json.load(open(os.path.join(dpath, 'model.opt.orig')))['model'] == 'hugging_face/t5'
    assert sorted(os.listdir(dpath)) == [
        '.built', 'INSTALLED_FROM', 'model', 'model.dict', 'model.opt', 'model.opt.orig'
    ]


def test_local_archive_is_installed_only_with_the_released_sha256(trained, tmp_path, monkeypatch):
    from parlai.core.build_data import built

    from parlai_prosocial.zoo.canary import build

    archive = _tar(trained, str(tmp_path / 'canary.tar.gz'))
    datapath = str(tmp_path / 'data')
    dpath = build.model_dir(datapath)
    with pytest.raises(build.CanaryChecksumError, match='not the released Canary'):
        build.install(archive, datapath)
    assert not os.path.exists(dpath) and not built(dpath)

    monkeypatch.setattr(build, 'SHA256', build.sha256_of(archive))  # pretend it is the release
    build.install(archive, datapath)
    assert built(dpath, build.VERSION) and os.path.isfile(os.path.join(dpath, 'model'))
    assert os.path.isfile(archive)  # the user's file is left alone


def test_download_rejects_a_file_with_the_wrong_sha256(tmp_path, monkeypatch):
    import parlai.core.build_data as build_data

    from parlai_prosocial.zoo.canary import build

    served = tmp_path / 'served.tar.gz'
    served.write_bytes(b'this is not canary')
    monkeypatch.setattr(build, 'URL', 'file://' + str(served))  # the real download helper
    monkeypatch.delenv(build.CHECKPOINT_ENV, raising=False)
    datapath = str(tmp_path / 'data')
    dpath = build.model_dir(datapath)
    with pytest.raises(build.CanaryChecksumError, match='sha256'):
        build.download(datapath)
    assert not build_data.built(dpath)
    assert os.listdir(dpath) == []  # the bad archive was deleted, nothing unpacked


def test_download_with_the_right_sha256_is_unpacked_and_built(trained, tmp_path, monkeypatch):
    import parlai.core.build_data as build_data

    from parlai_prosocial.zoo.canary import build

    archive = _tar(trained, str(tmp_path / 'release.tar.gz'))

    monkeypatch.setattr(build, 'URL', 'file://' + archive)  # the real download helper
    monkeypatch.setattr(build, 'SHA256', build.sha256_of(archive))
    monkeypatch.delenv(build.CHECKPOINT_ENV, raising=False)
    datapath = str(tmp_path / 'data')
    dpath = build.download(datapath)
    assert build_data.built(dpath, build.VERSION)
    assert sorted(os.listdir(dpath)) == ['.built', 'INSTALLED_FROM', 'model', 'model.dict',
                                         'model.opt']
    assert build.download(datapath) == dpath  # built: nothing is fetched again
