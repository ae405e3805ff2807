"""
``python -m parlai_prosocial.export``: ParlAI models as Hugging Face folders, parity-tested.

For each exported kind, on single and multi-turn dialogues: the folder's helper and tokenizer give
the ids ParlAI's agent computes, the HF model's next-token log-probabilities equal ParlAI's to
``TOLERANCE`` in every column (ParlAI's masked ``__start__`` column is masked in both), and HF's
greedy ``generate`` gives ParlAI's greedy reply (or differs only at a near-tie of two tokens within
``TOLERANCE``: float rounding, not the model). Models: a Prost (``-o prosocial/tiny_prost`` on
``prosocial:rot_response``, a few epochs: its dictionary is the data's, ``__endrots__`` a special
token), the README's ``transformer/generator`` on ``prosocial:rot_response`` (``-o
prosocial/tiny_generator``: sinusoidal positions, no global end token; the session's
``rot_response_generator``), a generator with a byte-level BPE dictionary and the Prost preset's
history format, the session's tiny Canary and an untrained COSMO on the tiny T5. One test loads two
folders in a fresh offline Python process that cannot import ParlAI or the plugin: the same ids,
and the same greedy reply (or a near-tie) with the folder's own generation settings.
"""

import json
import os
import random
import subprocess
import sys

import pytest

from parlai_prosocial import testing
from parlai_prosocial.errors import ExportError
from parlai_prosocial.export import export_model, parity
from parlai_prosocial.formats import SAFETY_LABELS
from parlai_prosocial.testing.models import copy_model_file, save_untrained

#: largest |log p(ParlAI) - log p(HF)| accepted (0 on this machine: the same kernels compute the
#: same sums; the margin is for another CPU's kernels)
TOLERANCE = 1e-4

CONTEXTS = [
    ["I'm going to call 911 just for fun tonight."],
    ['Hi!', 'Hello, how are you?', 'I want to skip school tomorrow, lol.'],
    ['My friend never paid me back.', 'it is rude to not pay back . __endrots__ that is bad .',
     'So I TOOK his phone!! Ha: ΟΔΟΣ x² café'],
    ['word ' * 300],  # longer than --text-truncate: ParlAI keeps the end
]


def assert_parity(rows):
    for row in rows:
        turns = row['turns']
        assert row['ids_equal'], (turns, row['parlai_ids'], row['hf_ids'])
        assert row['masks_equal'], turns
        assert row['max_logprob_difference'] <= TOLERANCE, (turns, row)
        assert_same_greedy(row)


def assert_same_greedy(row):
    """
    HF's greedy reply is ParlAI's, and so is its text; or it differs first where ParlAI's two
    tokens are a near-tie (within ``TOLERANCE``: float rounding, not the model).
    """
    margin = row['greedy_tie_margin']
    assert row['greedy_equal'] or (margin is not None and margin <= TOLERANCE), row
    if row['greedy_equal']:
        assert row['texts_equal'], (row['parlai_text'], row['hf_text'])


def export(model_file, out, **kwargs):
    export_model(model_file, str(out), **kwargs)
    return str(out)


# ---------------------------------------------------------------- the models


def _train(directory, sample_data_dir, args):
    model_file = os.path.join(directory, 'model')
    testing.parlai_in_process(['train_model', '-mf', model_file] + args, cwd=directory,
                              env_extra={'PROSOCIAL_DATA_DIR': sample_data_dir})
    return model_file


@pytest.fixture(scope='module')
def rot_response_prost(tmp_path_factory, sample_data_dir):
    """
    ``-o prosocial/tiny_prost`` on ``prosocial:rot_response`` alone, 5 epochs (its dictionary and
    special token are what the export reads; no fit is relied on).
    """
    return testing.built_once(tmp_path_factory, 'export_prost', lambda d: _train(
        d, sample_data_dir, ['-o', 'prosocial/tiny_prost', '-t', 'prosocial:rot_response',
                             '--multitask-weights', '1', '--num-epochs', '5']))


@pytest.fixture(scope='module')
def bytelevel_generator(tmp_path_factory):
    """
    An untrained ``-m prost`` with a byte-level BPE dictionary (as ``zoo:blender/reddit_3B``'s
    kind, trained here on the sample's texts) and the Prost preset's history format.
    """
    from tokenizers import ByteLevelBPETokenizer

    from parlai_prosocial.agents.canary.tiny import sample_texts

    def build(directory):
        bpe = ByteLevelBPETokenizer(add_prefix_space=True)
        bpe.train_from_iterator(list(sample_texts()), vocab_size=600, show_progress=False)
        bpe.save_model(directory, 'bpe')
        return save_untrained(
            directory, model='prost', n_layers=1, n_heads=2, embedding_size=64, ffn_size=128,
            variant='prelayernorm', activation='gelu', learn_positional_embeddings=True,
            n_positions=256, truncate=256, history_add_global_end_token='end',
            dict_tokenizer='bytelevelbpe', bpe_vocab=os.path.join(directory, 'bpe-vocab.json'),
            bpe_merge=os.path.join(directory, 'bpe-merges.txt'), delimiter='  ', fp16=True,
        )

    return testing.built_once(tmp_path_factory, 'export_bytelevel_prost', build)


@pytest.fixture(scope='module')
def prost_folder(rot_response_prost, tmp_path_factory):
    return export(rot_response_prost, tmp_path_factory.mktemp('export') / 'prost')


@pytest.fixture(scope='module')
def canary_folder(tiny_canary, tmp_path_factory):
    return export(tiny_canary, tmp_path_factory.mktemp('export') / 'canary')


# ---------------------------------------------------------------- parity


def test_prost_exports_as_blenderbot_with_parity(rot_response_prost, prost_folder):
    folder = prost_folder
    agent = parity.parlai_agent(rot_response_prost)
    rows = parity.compare(agent, folder, CONTEXTS)
    assert_parity(rows)
    config = json.load(open(os.path.join(folder, 'config.json')))
    assert config['architectures'] == ['BlenderbotForConditionalGeneration']
    # readable as any folder the user makes (mkdtemp's 0700 and safetensors' 0600 undone)
    mask = os.umask(0)
    os.umask(mask)
    for path in [folder] + [os.path.join(folder, n) for n in os.listdir(folder)]:
        wanted = (0o777 if os.path.isdir(path) else 0o666) & ~mask
        assert os.stat(path).st_mode & 0o777 == wanted, path
    # the Prost's own RoTs stay out of its history (ProstHistory), in the helper too
    settings = json.load(open(os.path.join(folder, 'parlai_input.json')))
    assert settings['reply_without_rots'] and settings['global_end_token'] == '__end__'
    # with the tiny presets' dictionary the plain tokenizer call on the joined text is the same
    _, tokenizer, dialogue = parity.load_folder(folder)
    for row in rows:
        text = dialogue.text(row['turns'])
        assert tokenizer(text, truncation=True)['input_ids'] == row['parlai_ids'], text


def test_rot_response_generator_exports_with_parity(rot_response_generator, tmp_path):
    folder = export(rot_response_generator, tmp_path / 'generator')
    rows = parity.compare(parity.parlai_agent(rot_response_generator), folder, CONTEXTS)
    assert_parity(rows)
    settings = json.load(open(os.path.join(folder, 'parlai_input.json')))
    assert settings['global_end_token'] is None and not settings['reply_without_rots']


def test_bytelevel_dictionary_exports_with_parity(bytelevel_generator, tmp_path):
    folder = export(bytelevel_generator, tmp_path / 'bytelevel')
    rows = parity.compare(parity.parlai_agent(bytelevel_generator), folder, CONTEXTS[:3],
                          max_ts=12)
    assert_parity(rows)
    # ParlAI pads the dictionary to a multiple of 8 for --fp16: the rows are exported too
    config = json.load(open(os.path.join(folder, 'config.json')))
    assert config['vocab_size'] % 8 == 0


def test_canary_exports_as_t5_with_parity_and_one_token_labels(tiny_canary, canary_folder):
    from transformers import AutoTokenizer

    folder = canary_folder
    agent = parity.parlai_agent(tiny_canary)
    rows = parity.compare(agent, folder, CONTEXTS)
    assert_parity(rows)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    for label in SAFETY_LABELS:
        assert tokenizer.encode(label, add_special_tokens=False) == [agent.dict.tok2ind[label]]
        # kept by the usual decoding, as Canary's ParlAI decoding keeps it
        assert tokenizer.decode(tokenizer.encode(label), skip_special_tokens=True) == label
    # the session's Canary was fit to label this training opener: the exported one says the same
    assert rows[0]['hf_text'].split()[0] in SAFETY_LABELS


def test_cosmo_exports_as_t5_with_parity(tiny_t5, tmp_path):
    model_file = save_untrained(tmp_path / 'cosmo', model='cosmo', t5_model_arch=tiny_t5,
                                inference='greedy')
    folder = export(model_file, tmp_path / 'cosmo_hf')
    contexts = [{'turns': t, 'narrative': 'Ann meets Bo at a party.',
                 'instruction': 'Imagine you are Bo and speak to Ann'} for t in CONTEXTS[:2]]
    contexts.append({'turns': ['Hi!']})  # no narrative, no instruction
    assert_parity(parity.compare(parity.parlai_agent(model_file), folder, contexts, max_ts=12))
    generation = json.load(open(os.path.join(folder, 'generation_config.json')))
    assert not generation.get('do_sample', False)  # greedy asked for; COSMO's default samples


def test_re_tokenizer_gives_parlai_ids_on_any_text(rot_response_prost):
    """
    ParlAI's ``re`` dictionary (lowercased, ``__endrots__`` special) against the exported
    tokenizer on random mixtures of its words, punctuation, case and Unicode (Python's ``\\w`` is
    not the Rust regex's: numerals such as ², combining marks; a final capital sigma).
    """
    from parlai_prosocial.export.blenderbot import parlai_dictionary
    from parlai_prosocial.export.tokenizer import parlai_tokenizer

    opt = json.load(open(rot_response_prost + '.opt'))
    _, dictionary = parlai_dictionary(opt, rot_response_prost)
    tokenizer = parlai_tokenizer(dictionary, end_token_after_input=False)
    words = sorted(dictionary.tok2ind)
    pieces = list("aZ _-.,!?'\n\t\"") + [
        '__endrots__', 'ΑΣ', 'Σ', 'x²', 'é', 'e\u0301', '½', '\x1c', 'İ', '中文', '\u00a0',
        '٣', 'ǅ', 'ﬁ', '😀']
    rng = random.Random(0)
    for _ in range(500):
        parts = [rng.choice(words if rng.random() < 0.5 else pieces)
                 for _ in range(rng.randint(1, 10))]
        text = ''.join(p + (' ' if rng.random() < 0.5 else '') for p in parts)
        text = text.upper() if rng.random() < 0.3 else text
        assert tokenizer.encode(text, add_special_tokens=False) == dictionary.txt2vec(text), text


def test_a_zoo_name_is_exported(rot_response_prost, tmp_path, capsys):
    from parlai_prosocial.zoo.prost.model import install

    datapath = str(tmp_path / 'data')
    install(rot_response_prost, datapath)
    status, lines = _cli(['-mf', 'zoo:prost/model', '--datapath', datapath, '--out',
                          tmp_path / 'out'], capsys)
    assert status == 0, lines
    assert json.load(open(tmp_path / 'out' / 'config.json'))['model_type'] == 'blenderbot'


# ---------------------------------------------------------------- loading as a user does

FRESH_PROCESS = r'''
import json, sys
sys.modules['parlai'] = None            # neither ParlAI nor the plugin can be imported here
sys.modules['parlai_prosocial'] = None
import torch
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
out = {}
for name, folder in json.loads(sys.argv[1]).items():
    sys.path.insert(0, folder)
    sys.modules.pop('dialogue_input', None)
    from dialogue_input import DialogueInput
    sys.path.pop(0)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSeq2SeqLM.from_pretrained(folder).eval()
    dialogue = DialogueInput.from_folder(folder)
    ids = dialogue.input_ids(tokenizer, json.loads(sys.argv[2]))
    reply = model.generate(torch.tensor([ids]), do_sample=False)[0].tolist()
    out[name] = {'ids': ids, 'reply': reply[1:], 'text': dialogue.reply(tokenizer, reply),
                 'class': type(model).__name__}
print(json.dumps(out))
'''


def test_a_fresh_offline_process_loads_the_folders(rot_response_prost, tiny_canary, prost_folder,
                                                   canary_folder, tmp_path):
    folders = {'prost': prost_folder, 'canary': canary_folder}
    turns = ['Hi!', 'Hello, how are you?', "I'm going to call 911 just for fun tonight."]
    env = dict(os.environ, HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1')
    result = subprocess.run(
        [sys.executable, '-c', FRESH_PROCESS, json.dumps(folders), json.dumps(turns)],
        capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded['prost']['class'] == 'BlenderbotForConditionalGeneration'
    assert loaded['canary']['class'] == 'T5ForConditionalGeneration'
    for name, model_file in (('prost', rot_response_prost), ('canary', tiny_canary)):
        fmt = 'history' if name == 'prost' else 'canary'
        [parlai] = parity.parlai_side(parity.parlai_agent(model_file), [turns], fmt)
        assert loaded[name]['ids'] == parlai['parlai_ids']
        # the folder's own generation settings (no bound given) reply as ParlAI does
        hf_reply, hf_text = loaded[name]['reply'], loaded[name]['text']
        assert_same_greedy(dict(
            parlai, hf_reply=hf_reply, hf_text=hf_text,
            greedy_equal=hf_reply == parlai['parlai_reply'],
            greedy_tie_margin=parity.tie_margin(parlai, hf_reply),
            texts_equal=hf_text == parlai['parlai_text'],
        ))


# ---------------------------------------------------------------- the model card


def test_the_card_has_the_hub_metadata_and_the_report_numbers(tiny_canary, tmp_path):
    import yaml

    from parlai_prosocial.results import REPO

    report = os.path.join(REPO, 'projects', 'prosocial_dialog', 'report_example', 'report')
    folder = export(tiny_canary, tmp_path / 'canary', report_dir=report)
    text = open(os.path.join(folder, 'README.md'), encoding='utf-8').read()
    meta = yaml.safe_load(text.split('---\n')[1])
    assert meta['library_name'] == 'transformers'
    assert meta['datasets'] == ['allenai/prosocial-dialog']
    assert 'preset-tiny_canary' in meta['tags'] and 'canary' in meta['tags']
    assert meta['license'] == 'other'  # a local T5: no known base model, no known license
    results = json.load(open(os.path.join(report, 'results.json')))
    f1 = results['numbers']['prosocial']['unguarded']['overall']['f1']
    metrics = [m for r in meta['model-index'][0]['results'] for m in r['metrics']]
    assert round(f1, 4) in [m['value'] for m in metrics if m['type'] == 'f1']
    assert 'huggingface-cli upload' in text and 'dialogue_input.py' in text


# ---------------------------------------------------------------- bad input


def _cli(args, capsys):
    from parlai_prosocial.export.__main__ import main

    status = main([str(a) for a in args])
    return status, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize('change, expected', [
    ({'model': 'transformer/classifier'}, 'a model file of -m transformer/classifier'),
    ({'dict_tokenizer': 'split'}, '--dict-tokenizer split'),
    ({'variant': 'xlm'}, '--variant xlm'),
])
def test_a_model_that_cannot_be_exported_is_one_line_and_leaves_nothing(
        rot_response_generator, tmp_path, capsys, change, expected):
    model_file = copy_model_file(rot_response_generator, tmp_path / 'model', **change)
    out = tmp_path / 'out'
    status, lines = _cli(['-mf', model_file, '--out', out], capsys)
    assert status == 1 and len(lines) == 1, lines
    assert lines[0].startswith('ExportError: ') and expected in lines[0], lines
    assert not out.exists()
    assert [p for p in os.listdir(tmp_path) if 'partial' in p] == []


def test_an_existing_folder_is_refused_unless_overwrite(rot_response_generator, tmp_path, capsys):
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'mine.txt').write_text('keep me')
    status, lines = _cli(['-mf', rot_response_generator, '--out', out], capsys)
    assert status == 1 and len(lines) == 1 and 'not empty' in lines[0] and '--overwrite' in lines[0]
    assert os.listdir(out) == ['mine.txt']
    status, _ = _cli(['-mf', rot_response_generator, '--out', out, '--overwrite'], capsys)
    assert status == 0
    assert 'mine.txt' not in os.listdir(out) and 'config.json' in os.listdir(out)


def test_the_model_files_own_folder_is_never_the_output(rot_response_generator, tmp_path, capsys):
    model_file = copy_model_file(rot_response_generator, tmp_path / 'model')
    status, lines = _cli(['-mf', model_file, '--out', tmp_path, '--overwrite'], capsys)
    assert status == 1 and 'holds the model file' in lines[0] and len(lines) == 1
    assert os.path.isfile(model_file)


def test_a_failure_half_way_keeps_the_previous_folder(rot_response_generator, tmp_path,
                                                      monkeypatch):
    from parlai_prosocial.export import card

    out = export(rot_response_generator, tmp_path / 'out')
    before = sorted(os.listdir(out))

    def broken(*args, **kwargs):
        raise ExportError('the card could not be written')

    monkeypatch.setattr(card, 'write_card', broken)
    with pytest.raises(ExportError):
        export_model(rot_response_generator, out, overwrite=True)
    assert sorted(os.listdir(out)) == before
    assert [p for p in os.listdir(tmp_path) if p.startswith('.')] == []


def test_a_report_that_is_not_one_is_refused(rot_response_generator, tmp_path, capsys):
    status, lines = _cli(['-mf', rot_response_generator, '--out', tmp_path / 'out', '--report',
                          tmp_path], capsys)
    assert status == 1 and lines[0].startswith('ExportError: --report') and len(lines) == 1
