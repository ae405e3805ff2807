"""
From ParlAI to Hugging Face: a Prost, a Canary, a COSMO (or any ``transformer/generator`` of
Prost's family, any ``hugging_face/t5`` model) written as a folder that ``transformers`` loads::

    python -m parlai_prosocial.export -mf MODEL_FILE --out DIR [--report REPORT_DIR] [--overwrite]

``MODEL_FILE`` is a ParlAI model file (with its ``.opt`` and ``.dict``) or a zoo name
(``zoo:prost/model``, ``zoo:canary/model``). ``DIR`` then holds:

* the model: ``config.json``, ``generation_config.json`` (the model's own ParlAI decoding options)
  and the weights as safetensors: ``BlenderbotForConditionalGeneration`` for ``-m prost`` /
  ``transformer/generator`` (:mod:`.blenderbot`), ``T5ForConditionalGeneration`` for ``-m canary``,
  ``-m cosmo`` and ``hugging_face/t5`` (:mod:`.t5`);
* the tokenizer, giving ParlAI's ids for the same text (:mod:`.tokenizer`; T5's own, with Canary's
  safety labels one token each);
* ``README.md``, the model card with the Hub's metadata (:mod:`.card`), which says how to build
  the input from a dialogue; ``dialogue_input.py`` and ``parlai_input.json``, the helper that does
  it (:mod:`.dialogue_input`, needs ``transformers`` only).

Everything is written into a temporary folder beside ``DIR`` and renamed to ``DIR`` at the end:
an export that fails leaves no folder that looks complete. An existing non-empty ``DIR`` is
refused unless ``--overwrite``. :mod:`.parity` checks that the exported model computes what the
ParlAI agent computes.
"""

import json
import os
import shutil
import tempfile

from parlai_prosocial.errors import ExportError
from parlai_prosocial.output_folder import checked_output_folder

#: what the export writes a model of each ParlAI agent as
GENERATOR_MODELS = ('prost', 'transformer/generator')
T5_MODELS = ('canary', 'cosmo', 'hugging_face/t5')

#: weights are written in shards of at most this size (a shard is copied once in memory)
MAX_SHARD_SIZE = '2GB'


def model_kind(opt, model_file):
    """
    ``'blenderbot'`` or ``'t5'`` for the agent that saved ``opt``; :class:`ExportError` else.
    """
    model = (opt.get('model') or '').replace(':', '/')
    if model in GENERATOR_MODELS:
        return 'blenderbot'
    if model in T5_MODELS:
        return 't5'
    raise ExportError(
        f'{model_file}: a model file of -m {opt.get("model")} (its .opt); the export writes '
        f'{", ".join(GENERATOR_MODELS + T5_MODELS)} models'
    )


def input_format(opt):
    """
    How the exported model's input is built (``dialogue_input``): ``history`` (ParlAI's dialogue
    history: Prost, transformer/generator), ``cosmo``, or ``canary`` (one text: Canary and any
    other T5).
    """
    model = (opt.get('model') or '').replace(':', '/')
    if model in GENERATOR_MODELS:
        return 'history'
    return 'cosmo' if model == 'cosmo' else 'canary'


def resolve_model_file(model_file, datapath=None):
    """
    The path of ``model_file`` (a zoo name is downloaded or found as ParlAI does) and its options.
    """
    from parlai.core.build_data import modelzoo_path
    from parlai.core.opt import Opt
    from parlai.core.params import ParlaiParser

    from parlai_prosocial.agents import check_model_file
    from parlai_prosocial.model_files import saved_options

    if model_file.startswith('zoo:'):
        if datapath is None:
            datapath = ParlaiParser(True, False).parse_args([])['datapath']
        model_file = modelzoo_path(datapath, model_file)
    check_model_file(model_file, '-mf')
    saved = saved_options(model_file + '.opt', missing_ok=True)
    if saved is None:
        raise ExportError(f'-mf {model_file}: no {model_file}.opt beside it (the model\'s options)')
    opt = Opt(saved)
    opt['model_file'] = model_file
    if datapath:
        opt['datapath'] = datapath
    return model_file, opt


def check_out(out, overwrite):
    """
    The absolute folder ``--out`` names, after every check that can be made without writing it.
    """
    out = checked_output_folder(out, '--out', ExportError)
    if os.path.isdir(out) and os.listdir(out) and not overwrite:
        raise ExportError(
            f'--out {out}: the folder exists and is not empty; give a new folder, or --overwrite '
            'to replace it'
        )
    return out


def export_model(model_file, out, overwrite=False, report_dir=None, datapath=None,
                 license=None, max_shard_size=MAX_SHARD_SIZE):
    """
    Write the Hugging Face folder of ``model_file`` to ``out`` (see the module docstring);
    returns a summary (the kind, the files, the seconds).
    """
    import time

    from . import card

    started = time.perf_counter()
    out = check_out(out, overwrite)
    report = card.read_report(report_dir) if report_dir else None
    model_file, opt = resolve_model_file(model_file, datapath)
    real_model, real_out = os.path.realpath(model_file), os.path.realpath(out)
    if os.path.commonpath([real_model, real_out]) == real_out:
        raise ExportError(
            f'--out {out}: the folder holds the model file {model_file}, which the export would '
            'replace; give another folder'
        )
    kind = model_kind(opt, model_file)
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    partial = tempfile.mkdtemp(prefix=f'.{os.path.basename(out)}.partial-', dir=parent)
    try:
        if kind == 'blenderbot':
            from .blenderbot import write_blenderbot

            facts = write_blenderbot(opt, model_file, partial, max_shard_size)
        else:
            from .t5 import write_t5

            facts = write_t5(opt, model_file, partial, max_shard_size)
        write_input_helper(partial, facts['input'])
        card.write_card(partial, opt, facts, report, license)
        _shareable(partial)
        _replace(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return {
        'kind': kind,
        'architecture': facts['architecture'],
        'out': out,
        'files': sorted(os.listdir(out)),
        'seconds': time.perf_counter() - started,
    }


def _shareable(folder):
    """
    The folder and its files with the permissions of the user's umask, as any folder they make:
    ``mkdtemp`` makes it 0700, and safetensors writes its files 0600 (a folder to share would
    otherwise be readable by its owner only).
    """
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(folder, 0o777 & ~mask)
    for name in os.listdir(folder):
        os.chmod(os.path.join(folder, name), 0o666 & ~mask)


def _replace(partial, out):
    """
    ``partial`` becomes ``out``; a previous ``out`` (``--overwrite``) is removed only after that.
    """
    old = None
    if os.path.exists(out):
        old = tempfile.mkdtemp(prefix=f'.{os.path.basename(out)}.old-', dir=os.path.dirname(out))
        os.rmdir(old)
        os.replace(out, old)
    os.replace(partial, out)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def write_weights(state, folder, max_shard_size=MAX_SHARD_SIZE):
    """
    ``state`` (name -> tensor) as ``save_pretrained`` writes safetensors: one
    ``model.safetensors``, or shards and their ``model.safetensors.index.json``.
    """
    from safetensors.torch import save_file
    from transformers.modeling_utils import shard_checkpoint
    from transformers.utils import SAFE_WEIGHTS_INDEX_NAME, SAFE_WEIGHTS_NAME

    shards, index = shard_checkpoint(state, max_shard_size, weights_name=SAFE_WEIGHTS_NAME)
    for name, shard in shards.items():
        save_file({k: v.contiguous() for k, v in shard.items()},
                  os.path.join(folder, name), metadata={'format': 'pt'})
    if index is not None:
        with open(os.path.join(folder, SAFE_WEIGHTS_INDEX_NAME), 'w', encoding='utf-8') as f:
            json.dump(index, f, indent=2, sort_keys=True)


def text_truncate(opt):
    """
    The input length ParlAI's agent keeps (``TorchAgent.text_truncate``), None for no limit.
    """
    value = opt.get('text_truncate') or opt.get('truncate')
    return value if value is not None and value >= 0 else None


def label_truncate(opt):
    value = opt.get('label_truncate') or opt.get('truncate')
    return value if value is not None and value >= 0 else None


def write_input_helper(folder, settings):
    """
    ``parlai_input.json`` (``settings``) and ``dialogue_input.py`` in ``folder``: the helper with
    the plugin's format definitions written into it, so it needs no plugin.
    """
    import inspect

    from parlai_prosocial import formats

    from . import dialogue_input

    with open(os.path.join(folder, dialogue_input.SETTINGS_FILE), 'w', encoding='utf-8') as f:
        json.dump(settings, f, indent=2, sort_keys=True)
    source = inspect.getsource(dialogue_input)
    head, rest = source.split('# <formats>', 1)
    _, tail = rest.split('# </formats>\n', 1)
    definitions = ['# from parlai_prosocial.formats (the plugin\'s one definition of each)']
    for name in ('ROTS_END', 'SEP', 'TURN'):
        definitions.append(f'{name} = {getattr(formats, name)!r}')
    for function in (formats.cosmo_input, formats.split_rot_response):
        definitions.append('\n\n' + inspect.getsource(function).rstrip())
    with open(os.path.join(folder, 'dialogue_input.py'), 'w', encoding='utf-8') as f:
        f.write(head + '\n'.join(definitions) + '\n\n\n' + tail.lstrip('\n'))
