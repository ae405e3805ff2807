"""
``zoo:canary/model``: the released Canary (Kim et al., 2022), a ParlAI T5-large model.

ParlAI maps ``zoo:canary/model`` to ``download()`` of this module (``parlai.zoo.canary.build``:
for a zoo path ``zoo:NAME/FILE`` ParlAI imports ``parlai.zoo.NAME.build``) and then loads
``<datapath>/models/canary/model``. The released archive (about 10 GB, and as much again while it
is unpacked) is fetched with the plugin's download helper (:mod:`parlai_prosocial.download`): it
arrives as ``canary.tar.gz.part`` and gets its name only once its sha256 matches, so an archive
that fails the check never stays (the next attempt downloads it again instead of failing on the
same file); an HTTP error is reported as such; two processes installing into one ``--datapath``
wait for each other (a file lock); and the folder is marked built, with a version, only after
the model is in place. A ``canary.tar.gz`` copied by hand into ``<datapath>/models/canary/`` is
used instead of downloading, after the same check.

Offline, or for a Canary you trained yourself, install a local copy instead (nothing is
downloaded once the folder is built)::

    python -m parlai_prosocial.zoo.canary.install PATH [--datapath D] [--t5-model-arch DIR]
    export CANARY_CHECKPOINT=PATH     # or: installed on first use of zoo:canary/model

``PATH`` is the released ``canary.tar.gz`` (its sha256 is checked exactly as for a download; an
archive with another checksum is refused: unpack your own archives and give the directory), a
directory holding a ParlAI model file ``model`` with its ``model.opt`` (e.g. the unpacked release,
or the ``-mf`` directory of ``parlai train_model -o prosocial/canary``), or a ParlAI model file
itself (``/runs/canary1/best``, beside ``best.opt``).

Every install (download or local) makes the model load as ``-m canary`` (a checkpoint of ParlAI's
T5 agent is a Canary checkpoint, so its ``model.opt`` ``model`` is set to ``canary``; the original
is kept as ``model.opt.orig``), so the replies carry ``safety_label`` and ``rots``.

The label tokens follow the checkpoint. ``-m canary`` makes the five safety labels special tokens
(one token each) unless ``model.opt`` says otherwise; a Canary trained here keeps that list in its
``model.opt`` (``special_tok_lst``) and its grown embeddings in the model file, and is installed as
it is. A checkpoint of ParlAI's T5 agent, which is what the release loads as (its
``model/canary.py`` hands the archive's ``model.opt`` to stock ParlAI 1.7.1), was trained with the
labels as T5's word pieces: that agent takes its tokenizer from the hub name and ignores
``--special-tok-lst``. Its
installed ``model.opt`` gets ``special_tok_lst`` null, so ``-m canary`` reads the labels as that
model learnt them (``model_card.md``, "How the labels are tokenised").

The T5 behind it: the released ``model.opt`` most likely names the architecture by its hub name
``t5-large``, which HF resolves through the network or the HF cache. Offline, give a local T5-large
directory (``save_pretrained`` of ``T5ForConditionalGeneration`` and ``T5TokenizerFast``; since the
weights come from the Canary checkpoint, ``config.json`` and the tokenizer files are enough), either
once at install (``--t5-model-arch DIR``, written into the installed ``model.opt``) or per command
(``parlai eval_model -mf zoo:canary/model --t5-model-arch DIR``).
"""

import json
import os
import shutil
import tarfile

import parlai.core.build_data as build_data
import parlai.utils.logging as logging

from parlai_prosocial.download import exclusive, fetch, sha256_of
from parlai_prosocial.errors import ModelFileError, ProsocialDownloadError
from parlai_prosocial.model_files import saved_options

URL = (
    'https://storage.googleapis.com/ai2-mosaic-public/projects/prosocial-dialog/models/'
    'canary.tar.gz'
)
ARCHIVE = 'canary.tar.gz'
SHA256 = '33d264e73c389726f193b448a878275b45a91954a95ef4be988a1fba75712d60'
VERSION = 'v1.0'

#: a local checkpoint to install instead of downloading (see the module docstring)
CHECKPOINT_ENV = 'CANARY_CHECKPOINT'


#: ``model`` values of ``model.opt`` that are ParlAI's T5 agent, whose checkpoints Canary loads
T5_AGENTS = ('hugging_face/t5', 'parlai.agents.hugging_face.t5:T5Agent', 't5')

_ARCHIVE_SUFFIXES = ('.tar.gz', '.tgz', '.tar')


class CanaryCheckpointNotFound(ModelFileError, FileNotFoundError):
    """
    What was given to install is not a Canary checkpoint (one line at the command line).
    """


class CanaryChecksumError(ProsocialDownloadError):
    """
    An archive that is not the released Canary (a broken download, a truncated copy).
    """


def model_dir(datapath):
    """
    Where ``zoo:canary/model`` lives: ``<datapath>/models/canary``.
    """
    return os.path.join(datapath, 'models', 'canary')


def download(datapath):
    """
    Make ``<datapath>/models/canary/model`` available: nothing if built, else install
    ``$CANARY_CHECKPOINT`` if set, else download the release. Returns the folder.
    """
    dpath = model_dir(datapath)
    if build_data.built(dpath, VERSION):
        return dpath
    local = os.environ.get(CHECKPOINT_ENV)
    if local:
        logging.info(f'Installing Canary from ${CHECKPOINT_ENV} = {local}')
        return install(local, datapath)

    with exclusive(dpath.rstrip(os.sep) + '.lock'):
        if build_data.built(dpath, VERSION):  # installed by another process meanwhile
            return dpath
        return _download(dpath)


def _download(dpath):
    if build_data.built(dpath):  # another version
        build_data.remove_dir(dpath)
    # a canary.tar.gz already in dpath (a copy put there by hand) is checked, not downloaded
    build_data.make_dir(dpath)
    archive = os.path.join(dpath, ARCHIVE)
    if os.path.isfile(archive):
        if sha256_of(archive) != SHA256:
            _remove(archive)
            raise CanaryChecksumError(
                f'{archive}: does not have the sha256 of the released Canary ({SHA256}); it was '
                'deleted, nothing was installed'
            )
    else:
        logging.info(
            f'Downloading Canary to {dpath}: about 10 GB, plus as much again while unpacking. '
            f'Offline? See python -m parlai_prosocial.zoo.canary.install --help'
        )
        try:
            fetch(URL, archive, sha256=SHA256)
        except ProsocialDownloadError as error:
            if 'sha256' not in str(error):
                raise
            raise CanaryChecksumError(
                f'the download of {URL} does not have the sha256 of the released Canary; '
                f'nothing was installed. Try again. ({error})'
            ) from None
    _extract(archive, dpath)
    _remove(archive)
    return _finish(dpath, source=URL)


def install(path, datapath, t5_model_arch=None, symlink=False):
    """
    Install a local Canary as ``zoo:canary/model`` under ``datapath`` (replacing any installed
    one) and return the folder; see the module docstring for what ``path`` may be.
    ``t5_model_arch`` is written into the installed ``model.opt``; ``symlink`` links the model
    weights instead of copying them (not for archives).
    """
    path = os.path.abspath(os.path.expanduser(path))
    dpath = model_dir(datapath)
    if os.path.isfile(path) and path.endswith(_ARCHIVE_SUFFIXES):
        digest = sha256_of(path)
        if digest != SHA256:
            raise CanaryChecksumError(
                f'{path} is not the released Canary archive: its sha256 is {digest}, the release '
                f'has {SHA256}. Nothing was installed. For your own archive, unpack it and give '
                'the directory.'
            )
        if os.path.dirname(path) == dpath:  # already where it is unpacked
            _extract(path, dpath)
            os.remove(path)
        else:
            _empty_dir(dpath)
            _extract(path, dpath)
        source_dir = _folder_with_model(dpath)
        if source_dir != dpath:
            for name in os.listdir(source_dir):
                shutil.move(os.path.join(source_dir, name), os.path.join(dpath, name))
            os.rmdir(source_dir)
    else:
        model_file = os.path.join(path, 'model') if os.path.isdir(path) else path
        if not (os.path.isfile(model_file) and os.path.isfile(model_file + '.opt')):
            raise CanaryCheckpointNotFound(
                f'{path}: not a Canary checkpoint: expected the released canary.tar.gz, a '
                'directory with a ParlAI model file "model" and "model.opt", or a model file '
                'with its .opt beside it'
            )
        _empty_dir(dpath)
        for source, name in _model_files(model_file):
            target = os.path.join(dpath, name)
            if symlink and name != 'model.opt':  # model.opt is rewritten: always a copy
                os.symlink(source, target)
            else:
                shutil.copyfile(source, target)
    return _finish(dpath, source=path, t5_model_arch=t5_model_arch)


def _model_files(model_file):
    """
    ``(source, installed name)`` of a ParlAI model file and its ``.opt`` and ``.dict*`` files.
    """
    yield model_file, 'model'
    directory, base = os.path.split(model_file)
    for name in sorted(os.listdir(directory)):
        if name == base + '.opt' or name.startswith(base + '.dict'):
            yield os.path.join(directory, name), 'model' + name[len(base) :]


def _finish(dpath, source, t5_model_arch=None):
    model_file = os.path.join(dpath, 'model')
    if not (os.path.exists(model_file) and os.path.isfile(model_file + '.opt')):
        raise CanaryCheckpointNotFound(f'{source} gave no model and model.opt in {dpath}')
    opt_file = model_file + '.opt'
    opt = saved_options(opt_file)
    changed = dict(opt)
    if opt.get('model') in T5_AGENTS:
        changed['model'] = 'canary'
        # ParlAI's T5 agent never adds tokens (its dictionary ignores --special-tok-lst): the
        # labels it learnt are T5's word pieces, and -m canary must not make them special tokens
        changed['special_tok_lst'] = None
    elif opt.get('model') != 'canary':
        logging.warning(
            f'{opt_file}: model is {opt.get("model")!r}, not a T5 agent; left as it is'
        )
    if t5_model_arch:
        from parlai_prosocial.agents.canary.agents import t5_model_arch as check_arch

        changed['t5_model_arch'] = check_arch(t5_model_arch)
    if changed != opt:
        if not os.path.exists(opt_file + '.orig'):
            shutil.copyfile(opt_file, opt_file + '.orig')
        with open(opt_file, 'w', encoding='utf-8') as f:
            json.dump(changed, f, indent=4)
    with open(os.path.join(dpath, 'INSTALLED_FROM'), 'w', encoding='utf-8') as f:
        f.write(source + '\n')
    build_data.mark_done(dpath, VERSION)
    logging.info(f'Canary installed in {dpath} (from {source})')
    return dpath


def _empty_dir(dpath):
    if os.path.lexists(dpath):
        build_data.remove_dir(dpath)
    build_data.make_dir(dpath)


def _remove(path):
    if os.path.lexists(path):
        os.remove(path)


def _extract(archive, dpath):
    with tarfile.open(archive) as tar:
        try:
            tar.extractall(dpath, filter='data')  # refuses absolute paths, '..', devices
        except TypeError:  # a Python without extraction filters
            for member in tar.getmembers():
                target = os.path.realpath(os.path.join(dpath, member.name))
                if not target.startswith(os.path.realpath(dpath) + os.sep):
                    raise ValueError(f'{archive}: {member.name} points outside the folder')
            tar.extractall(dpath)


def _folder_with_model(dpath):
    """
    ``dpath``, or its only subfolder when the archive packed the model inside one.
    """
    if os.path.isfile(os.path.join(dpath, 'model.opt')):
        return dpath
    entries = [e for e in os.listdir(dpath) if not e.startswith('.')]
    if len(entries) == 1 and os.path.isfile(os.path.join(dpath, entries[0], 'model.opt')):
        return os.path.join(dpath, entries[0])
    raise CanaryCheckpointNotFound('the archive has no model.opt at its top or in its only folder')
