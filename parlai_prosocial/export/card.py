"""
The exported folder's ``README.md``: a model card with the Hub's YAML metadata.

The metadata comes from the model's saved options: ``base_model`` (``--t5-model-arch`` when it is a
hub name, else none: a local or ParlAI-zoo start has no Hub name), ``datasets`` (the Hub names of
the ``--task`` datasets that have one; the others are named in the card's text), ``license``
(``--license``, else the base model's: Apache-2.0 for T5; ``other`` for a model trained from
scratch or from a ParlAI zoo model, whose terms the user must state), ``tags`` (parlai, the agent,
the preset), ``library_name: transformers`` and the pipeline. With ``--report DIR`` (a prosocial
report's folder, ``docs/report.md``), its ``results.json`` numbers become the ``model-index``.
"""

import json
import os

from parlai_prosocial.errors import ExportError
from parlai_prosocial.formats import TABLE5_METRICS

#: ParlAI task (its first part) -> its dataset on the Hugging Face Hub, where there is one
HUB_DATASETS = {
    'prosocial': 'allenai/prosocial-dialog',
    'soda': 'allenai/soda',
    'dailydialog': 'daily_dialog',
    'empathetic_dialogues': 'empathetic_dialogues',
    'blended_skill_talk': 'blended_skill_talk',
    'convai2': 'conv_ai_2',
}

#: base models whose license the export knows
BASE_LICENSES = {'t5-': 'apache-2.0', 'google/t5-': 'apache-2.0', 'google/flan-t5-': 'apache-2.0',
                 'allenai/cosmo-xl': 'apache-2.0'}

#: what each agent is, for the card's first line
DESCRIPTIONS = {
    'prost': 'Prost, the prosocial dialogue agent of ProsocialDialog (Kim et al., EMNLP 2022, '
             '§4.2): given a dialogue it writes the rules-of-thumb (RoTs) that apply, '
             '`__endrots__`, then its reply',
    'transformer/generator': 'a ParlAI `transformer/generator` dialogue model',
    'canary': 'Canary, the dialogue safety module of ProsocialDialog (Kim et al., EMNLP 2022, '
              '§4.1): given a dialogue context it writes a safety label and the RoTs that apply',
    'cosmo': 'COSMO, the conversation model of SODA (Kim et al., EMNLP 2023, §4)',
    'hugging_face/t5': 'a ParlAI `hugging_face/t5` model',
}

#: the card's title per agent
NAMES = {'prost': 'Prost', 'canary': 'Canary', 'cosmo': 'COSMO',
         'transformer/generator': 'transformer/generator', 'hugging_face/t5': 'T5'}

#: report metric -> (model-index metric type, name); ToxiChat's are Table 5's columns, named by
#: their owner (formats), each a share of the replies
REPORT_METRICS = {
    'prosocial': [('f1', 'f1', 'F1'), ('bleu-4', 'bleu', 'BLEU-4'), ('ppl', 'perplexity',
                                                                      'Perplexity')],
    'toxichat': [(metric, metric.split('_', 1)[1], f'{header} share')
                 for metric, header in TABLE5_METRICS.items()],
}
REPORT_DATASETS = {'prosocial': ('ProsocialDialog', 'allenai/prosocial-dialog'),
                   'toxichat': ('ToxiChat', 'toxichat')}


def read_report(directory):
    """
    The ``results.json`` of a prosocial report folder; :class:`ExportError` when it is not one.
    """
    path = os.path.join(directory, 'results.json')
    try:
        with open(path, encoding='utf-8') as f:
            results = json.load(f)
    except OSError:
        raise ExportError(f'--report {directory}: no results.json in it (give the --report-dir '
                          'of python -m parlai_prosocial.report)') from None
    except ValueError as e:
        raise ExportError(f'--report {path}: not valid JSON ({e})') from None
    if results.get('name') != 'prosocial_report' or 'numbers' not in results:
        raise ExportError(f'--report {path}: not the results of a prosocial report')
    return results


def _tasks(opt):
    return [part.strip() for part in (opt.get('task') or '').split(',') if part.strip()]


def _dataset_of(task):
    name = task.split(':')[0]
    if name == 'casual_safety' and ':' in task:
        name = task.split(':')[1]
    return HUB_DATASETS.get(name)


def base_model(opt):
    arch = opt.get('t5_model_arch')
    if arch and not os.path.isabs(arch):
        return arch
    return None


def license_of(opt, given):
    if given:
        return given
    base = base_model(opt) or ''
    for prefix, license in BASE_LICENSES.items():
        if base.startswith(prefix):
            return license
    return 'other'


def preset_of(opt):
    """
    Our preset the model was trained with: ``-o prosocial/NAME`` as saved in ``init_opt``.
    """
    init_opt = opt.get('init_opt') or ''
    return init_opt if init_opt.startswith('prosocial/') else None


def model_index(report, name):
    """
    The Hub's ``model-index`` of a prosocial report's unguarded (and guarded) numbers.
    """
    results = []
    numbers = report['numbers']
    for dataset, metrics in REPORT_METRICS.items():
        for setting in ('unguarded', 'guarded'):
            overall = ((numbers.get(dataset) or {}).get(setting) or {}).get('overall')
            if not overall:
                continue
            values = [
                {'type': kind, 'name': label + (' (Canary-guarded)' if setting == 'guarded'
                                                else ''), 'value': round(float(overall[key]), 4)}
                for key, kind, label in metrics if overall.get(key) is not None
            ]
            if values:
                title, hub = REPORT_DATASETS[dataset]
                results.append({
                    'task': {'type': 'text-generation', 'name': 'Dialogue response generation'},
                    'dataset': {'name': title, 'type': hub, 'split': 'test'},
                    'metrics': values,
                })
    return [{'name': name, 'results': results}] if results else []


def metadata(opt, facts, report, license):
    tags = ['parlai', 'parlai-prosocial', 'dialogue', (opt.get('model') or '').replace('/', '-')]
    if opt.get('model') in ('prost', 'canary'):
        tags += ['prosocial-dialog', 'rules-of-thumb']
    if opt.get('model') == 'canary':
        tags.append('dialogue-safety')
    preset = preset_of(opt)
    if preset:
        tags.append('preset-' + preset.split('/', 1)[1])
    datasets = []
    for task in _tasks(opt):
        dataset = _dataset_of(task)
        if dataset and dataset not in datasets:
            datasets.append(dataset)
    meta = {
        'library_name': 'transformers',
        'pipeline_tag': 'text2text-generation',
        'language': ['en'],
        'license': license_of(opt, license),
        'tags': tags,
    }
    if base_model(opt):
        meta['base_model'] = base_model(opt)
    if datasets:
        meta['datasets'] = datasets
    if report:
        index = model_index(report, os.path.basename(opt['model_file']))
        if index:
            meta['model-index'] = index
    return meta


def _yaml(meta):
    # JSON is YAML: the Hub reads it, and nothing needs quoting rules of our own
    lines = []
    for key, value in meta.items():
        lines.append(f'{key}: {json.dumps(value, ensure_ascii=False)}')
    return '\n'.join(lines)


def write_card(folder, opt, facts, report=None, license=None):
    from . import dialogue_input

    meta = metadata(opt, facts, report, license)
    agent = opt.get('model')
    kind = facts['architecture']
    settings = facts['input']
    preset = preset_of(opt)
    tasks = ', '.join(f'`{t}`' for t in _tasks(opt)) or 'not recorded'
    options = {key: opt.get(key) for key in facts.get('card_options', ())}
    lines = [
        '---', _yaml(meta), '---', '',
        f'# {NAMES.get(agent, agent)}' + (f' (`-o {preset}`)' if preset else '')
        + ', exported from ParlAI', '',
        f'This is {DESCRIPTIONS.get(agent, agent)}, trained with '
        '[ParlAI](https://parl.ai/) and the parlai-prosocial plugin and exported with '
        '`python -m parlai_prosocial.export`: a `transformers` '
        f'`{kind}` and its tokenizer, which compute what the ParlAI agent computed (the same '
        'ids for the same text, the same next-token scores, the same greedy replies: the '
        'plugin\'s parity tests).', '',
        '## Training', '',
        f'- ParlAI agent: `-m {agent}`' + (f', preset `-o {preset}`' if preset else ''),
        f'- Tasks: {tasks}' + (f' (weights {list(opt["multitask_weights"])})'
                               if len(_tasks(opt)) > 1 and opt.get('multitask_weights') else ''),
        f'- Model file: `{os.path.basename(opt["model_file"])}`'
        + (f', initialised from `{_shown(opt["init_model"])}`' if opt.get('init_model') else ''),
    ]
    for key, value in options.items():
        value = _shown(value)
        if value is not None and value != -1:  # -1: ParlAI's "the other option decides"
            lines.append(f'- `--{key.replace("_", "-")}`: `{value}`')
    if facts.get('parameters'):
        lines.append(f'- Parameters: {facts["parameters"]:,} ({facts.get("dtype", "")})')
    lines += ['', '## Use', '', _usage(settings, agent), '']
    lines += ['', '## Decoding', '', _decoding(facts, agent), '']
    if report:
        lines += ['## Evaluation', '',
                  'From the prosocial report of this model (`python -m parlai_prosocial.report`, '
                  f'{report.get("created", "")}); the numbers are in this card\'s `model-index`. '
                  'Commands:', '']
        lines += [f'    {c}' for c in report.get('commands', [])] + ['']
    lines += [
        '## Push to the Hub', '', 'With the network and a Hub token (`huggingface-cli login`):',
        '', '```bash', 'huggingface-cli upload YOUR_NAME/MODEL_NAME ' + '.' + ' .', '```', '',
        f'(from this folder). `{dialogue_input.SETTINGS_FILE}` and `dialogue_input.py` go with it.',
        '',
        '## Limitations', '',
        'The model knows what its training data taught it: for Prost and Canary, the RoTs of '
        'ProsocialDialog come from US crowdworkers and are not moral truths (the papers\' '
        'limitations sections). A model trained with a `tiny_*` preset is a test fixture, not a '
        'model to use.', '',
    ]
    with open(os.path.join(folder, 'README.md'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines))


def _shown(value):
    """
    An option's value as the card shows it: a path of the exporting machine means nothing on the
    Hub, a zoo or hub name does.
    """
    if isinstance(value, str) and os.path.isabs(value):
        return f'a local file ({os.path.basename(value.rstrip(os.sep))})'
    return value


def _usage(settings, agent):
    fmt = settings['format']
    if fmt == 'history':
        how = (
            'The input is ParlAI\'s dialogue history: the turns, oldest first and the partner\'s '
            f'last, each tokenised alone and joined by the tokens of {settings["delimiter"]!r}'
            + (f', then `{settings["global_end_token"]}`' if settings['global_end_token'] else '')
            + (f'; only the last {settings["text_truncate"]} tokens are kept'
               if settings['text_truncate'] else '')
            + ('. The model\'s own earlier turns go in without their RoTs (the text after the '
               'last `__endrots__`)' if settings.get('reply_without_rots') else '')
            + '. The reply is decoded up to `__end__`'
            + ('; the RoTs are the text before the last `__endrots__`, the reply after it'
               if agent == 'prost' else '') + '.'
        )
    elif fmt == 'canary':
        how = ('The input is the dialogue context as one text, the turns joined with newlines '
               f'(cut at {settings["text_truncate"]} tokens from the right, `</s>` kept). The '
               'output starts with the safety label (`__casual__`, `__possibly_needs_caution__`, '
               '`__probably_needs_caution__`, `__needs_caution__`, `__needs_intervention__`, '
               'one token each; `decode(..., skip_special_tokens=True)` keeps them), then the '
               'RoTs.')
    else:
        how = ('The input is `narrative <sep> instruction <sep> turn <turn> turn ...` (an empty '
               'narrative or instruction is left out with its `<sep>`)'
               + (f'; the last {settings["text_truncate"]} tokens are kept'
                  if settings['text_truncate'] else '')
               + '. Decode with `skip_special_tokens=True, clean_up_tokenization_spaces=False`.')
    return how + '\n\n' + '\n'.join([
        '`dialogue_input.py` (in this folder, needs `transformers` only) builds it:', '',
        '```python',
        'import sys, torch',
        'from transformers import AutoModelForSeq2SeqLM, AutoTokenizer',
        'sys.path.insert(0, FOLDER)',
        'from dialogue_input import DialogueInput',
        '',
        'tokenizer = AutoTokenizer.from_pretrained(FOLDER)',
        'model = AutoModelForSeq2SeqLM.from_pretrained(FOLDER)',
        'dialogue = DialogueInput.from_folder(FOLDER)',
        "ids = dialogue.input_ids(tokenizer, ['I am going to skip school tomorrow.'])",
        'output = model.generate(torch.tensor([ids]))',
        'print(dialogue.reply(tokenizer, output[0]))',
        '```',
    ])


def _decoding(facts, agent):
    method = facts.get('decoding')
    text = (
        f'`generation_config.json` holds the model\'s ParlAI decoding (`--inference {method}`). '
        'Greedy decoding gives ParlAI\'s replies token for token.'
    )
    if facts['input']['format'] == 'history':
        text += ' HF\'s beam search is not ParlAI\'s in its length penalty.'
    if agent == 'prost':
        text += (' Prost\'s per-segment minimum length and n-gram blocking '
                 '(`--prost-reply-search`) count the whole output in HF.')
    return text
