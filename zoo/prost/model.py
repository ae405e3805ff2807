"""
``zoo:prost/model``: ParlAI imports ``parlai.zoo.prost.build`` (our :mod:`.build`, which re-exports
:func:`download` from here), calls ``download(datapath)``, then uses
``<datapath>/models/prost/model``.

Prost (Kim et al., 2022) was never released: the authors' repository points to COSMO instead, and
no checkpoint can be downloaded from anywhere. So :func:`download` never fetches or fakes one. It
accepts, in this order,

1. ``$PROST_CHECKPOINT``, a ParlAI model file (or a directory holding ``model``) of a Prost you
   trained (``parlai train_model -o prosocial/prost -mf DIR/model``) or were given: it is
   installed (copied) into ``<datapath>/models/prost/``, again whenever its files change;
2. a checkpoint installed earlier with ``python -m parlai_prosocial.zoo.prost.install PATH``;

and otherwise raises :class:`ProstCheckpointNotFound`, which says how to get one.

Installing copies ``model``, ``model.opt``, ``model.dict`` and, when present, the dictionary's
companions (``model.dict.opt``, the byte-level BPE ``model.dict-vocab.json`` and
``model.dict-merges.txt``, ``model.dict.codecs``) and ``model.trainstats``; each file is copied to
a temporary name and renamed, and ParlAI's ``.built`` marker (with :data:`VERSION`) is removed
first and written last, so an interrupted install is never taken for a finished one. The copy of
``model.opt`` drops ``dict_file`` (the training run's path), so ParlAI uses the ``model.dict``
beside it; ``source.json`` records where the checkpoint came from.
"""

import datetime
import json
import os
import shutil

from parlai.core.build_data import built, mark_done

from parlai_prosocial.errors import ModelFileError
from parlai_prosocial.model_files import saved_options

#: Environment variable naming a checkpoint to install and use for ``zoo:prost/model``.
CHECKPOINT_ENV = 'PROST_CHECKPOINT'
#: Written into ``.built``; an install of another layout version is not taken as built.
VERSION = 'local-v1'
REQUIRED_SUFFIXES = ('', '.opt', '.dict')
OPTIONAL_SUFFIXES = (
    '.dict.opt',
    '.dict-vocab.json',
    '.dict-merges.txt',
    '.dict.codecs',
    '.trainstats',
)
SOURCE_RECORD = 'source.json'


class ProstCheckpointNotFound(ModelFileError, RuntimeError):
    """
    No usable Prost checkpoint.

    Not an ImportError or AttributeError: ParlAI's ``modelzoo_path`` swallows those and reports a
    misspelt zoo name instead. A :class:`~parlai_prosocial.errors.ModelFileError`, so the command
    line shows it as one line.
    """


def model_dir(datapath):
    return os.path.join(datapath, 'models', 'prost')


def _how_to_get_one(datapath):
    return (
        'Prost was never released (the ProsocialDialog authors point to COSMO instead), so there '
        'is nothing to download. Train one with the paper\'s recipe, e.g. '
        '`parlai train_model -o prosocial/prost -mf DIR/model` (or prosocial/prost_response_only), '
        'then either install it with '
        f'`python -m parlai_prosocial.zoo.prost.install DIR/model --datapath {datapath}`, '
        f'or set {CHECKPOINT_ENV}=DIR/model, or skip the zoo and pass `-mf DIR/model`.'
    )


def resolve_checkpoint(path):
    """
    The model file of the checkpoint at ``path`` (a model file, or a directory holding ``model``),
    after checking it is a complete ParlAI checkpoint of ``-m prost``.
    """
    if os.path.isdir(path):
        path = os.path.join(path, 'model')
    missing = [path + s for s in REQUIRED_SUFFIXES if not os.path.isfile(path + s)]
    if missing:
        raise ProstCheckpointNotFound(
            f'{path} is not a complete ParlAI checkpoint: missing {", ".join(missing)} '
            '(a trained model file comes with its .opt and .dict).'
        )
    model = saved_options(path + '.opt').get('model')
    if model != 'prost':
        raise ProstCheckpointNotFound(
            f'{path} is a `{model}` model, not Prost (`-m prost`, e.g. trained with '
            '`-o prosocial/prost`); only Prost splits its RoTs from its reply.'
        )
    return path


def _signature(model_file):
    files = {}
    for suffix in REQUIRED_SUFFIXES + OPTIONAL_SUFFIXES:
        if os.path.isfile(model_file + suffix):
            stat = os.stat(model_file + suffix)
            files['model' + suffix] = [stat.st_size, stat.st_mtime_ns]
    return {'source': os.path.realpath(model_file), 'files': files}


def _read_record(datapath):
    try:
        with open(os.path.join(model_dir(datapath), SOURCE_RECORD), encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def is_installed(datapath):
    dpath = model_dir(datapath)
    return built(dpath, VERSION) and all(
        os.path.isfile(os.path.join(dpath, 'model' + s)) for s in REQUIRED_SUFFIXES
    )


def install(path, datapath):
    """
    Copy the checkpoint at ``path`` into ``<datapath>/models/prost/``; returns the model file.
    """
    source = resolve_checkpoint(path)
    dpath = model_dir(datapath)
    os.makedirs(dpath, exist_ok=True)
    marker = os.path.join(dpath, '.built')
    if os.path.exists(marker):
        os.remove(marker)
    for suffix in REQUIRED_SUFFIXES + OPTIONAL_SUFFIXES:
        target = os.path.join(dpath, 'model' + suffix)
        if not os.path.isfile(source + suffix):
            if os.path.exists(target):
                os.remove(target)  # left by an earlier install, would not match this model
            continue
        shutil.copyfile(source + suffix, target + '.tmp')
        os.replace(target + '.tmp', target)

    opt_file = os.path.join(dpath, 'model.opt')
    opt = saved_options(opt_file)
    opt.pop('dict_file', None)  # ParlAI then uses model.dict beside the model file
    opt['model_file'] = os.path.join(dpath, 'model')
    with open(opt_file + '.tmp', 'w', encoding='utf-8') as f:
        json.dump(opt, f, indent=4)
    os.replace(opt_file + '.tmp', opt_file)

    record = _signature(source)
    record.update(
        installed=datetime.datetime.now().isoformat(timespec='seconds'),
        task=opt.get('task'),
        init_model=opt.get('init_model'),
    )
    with open(os.path.join(dpath, SOURCE_RECORD), 'w', encoding='utf-8') as f:
        json.dump(record, f, indent=2)
    mark_done(dpath, VERSION)  # last: only a complete install counts as built
    return os.path.join(dpath, 'model')


def download(datapath):
    """
    ParlAI's zoo hook: make ``<datapath>/models/prost/model`` a Prost checkpoint, or raise.
    """
    from_env = os.environ.get(CHECKPOINT_ENV)
    if from_env:
        wanted = _signature(resolve_checkpoint(from_env))
        record = _read_record(datapath) or {}
        current = {k: record.get(k) for k in ('source', 'files')}
        if not is_installed(datapath) or current != wanted:
            install(from_env, datapath)
        return
    if is_installed(datapath):
        return
    raise ProstCheckpointNotFound(
        f'zoo:prost/model: no Prost checkpoint installed in {model_dir(datapath)}. '
        + _how_to_get_one(datapath)
    )
