"""
Loading model files without running code that may be in them.

ParlAI 1.7.2's ``TorchAgent.load`` calls ``torch.load(f, ..., pickle_module=parlai.utils.pickle)``;
passing a ``pickle_module`` turns torch's ``weights_only`` loading off, so a model file (``-mf``,
``--init-model``, a downloaded or shared checkpoint) holding a pickled payload ran it when the
model was loaded. With this plugin installed (``parlai_fixes.safe_checkpoint_loading``) every
TorchAgent checkpoint (Prost, Canary, the guard and the models it guards, the ToxiChat
classifiers, any ParlAI model) is loaded by :func:`load_checkpoint`:

* with ``torch.load(..., weights_only=True)``: tensors, numbers, strings and containers only. The
  checkpoints ParlAI writes for these agents (model, optimizer, scheduler states) load this way.
* A file that needs more (pickled classes: older ParlAI checkpoints may hold some) is refused with
  one line naming it and saying how to trust it, unless it is trusted:

  - listed in the environment variable ``PARLAI_PROSOCIAL_TRUSTED_MODEL_FILES`` (paths separated
    by ``:``; a directory trusts the files under it), or
  - unpacked from a zoo archive whose sha256 ParlAI or this plugin pins: a file under
    ``{datapath}/models/`` in a folder holding the ``.built`` marker that ParlAI's zoo download
    writes only after the archive's checksum passed (e.g. ``zoo:blender/reddit_3B`` as
    ``--init-model``, ``zoo:canary/model``).

  A trusted file is loaded as ParlAI loads it.
* A file that cannot be read at all (missing, truncated, not a checkpoint) is one line naming it.

This fails closed: if torch cannot load with ``weights_only``, nothing is loaded.
"""

import os
import pickle

from parlai_prosocial.errors import ModelFileError

TRUSTED_ENV = 'PARLAI_PROSOCIAL_TRUSTED_MODEL_FILES'


def _real(path):
    return os.path.realpath(os.path.abspath(os.path.expanduser(path)))


def trusted_by_env(path):
    real = _real(path)
    for entry in os.environ.get(TRUSTED_ENV, '').split(os.pathsep):
        if not entry.strip():
            continue
        trusted = _real(entry.strip())
        if real == trusted or real.startswith(trusted.rstrip(os.sep) + os.sep):
            return True
    return False


def trusted_zoo_file(path, datapath=None):
    """
    Whether ``path`` lies under ``{datapath}/models/`` in a folder (or a parent of it below
    ``models/``) holding ParlAI's ``.built`` marker, i.e. was unpacked from a zoo archive whose
    sha256 was checked.
    """
    if not datapath:
        return False
    models = _real(os.path.join(datapath, 'models'))
    directory = os.path.dirname(_real(path))
    if not directory.startswith(models + os.sep):
        return False
    while directory.startswith(models + os.sep):
        if os.path.isfile(os.path.join(directory, '.built')):
            return True
        directory = os.path.dirname(directory)
    return False


def refusal_message(path, reason):
    return (
        f'{path}: refused to load: this model file holds more than weights ({reason}), and '
        'loading it could run code in it; if you trust the file, allow it with '
        f'{TRUSTED_ENV}={path}'
    )


def load_checkpoint(path, unsafe_load, datapath=None):
    """
    The states of the checkpoint ``path``, loaded with ``weights_only``; ``unsafe_load(path)``
    (ParlAI's own loading) only for a trusted file that needs it.
    """
    import torch

    if not os.path.isfile(path):
        raise ModelFileError(f'{path}: no such model file')
    try:
        with open(path, 'rb') as f:
            return torch.load(f, map_location=lambda cpu, _: cpu, weights_only=True)
    except pickle.UnpicklingError as e:
        if trusted_by_env(path) or trusted_zoo_file(path, datapath):
            return unsafe_load(path)
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        code = next((line for line in lines if 'GLOBAL' in line), None)
        if code is not None:  # a pickled function or class: what could run code
            raise ModelFileError(refusal_message(path, code.rstrip('.'))) from None
        detail = next((line for line in lines[1:] if 'Weights' not in line), lines[-1:] or [''])
        detail = detail if isinstance(detail, str) else detail[0]
        raise ModelFileError(
            f'{path}: cannot be read as a model file ({detail.rstrip(".")[:200]}); is it '
            f'truncated or not a ParlAI checkpoint? If you trust the file, allow it with '
            f'{TRUSTED_ENV}={path}'
        ) from None
    except TypeError as e:
        if 'weights_only' in str(e):  # a torch without safe loading: fail closed
            raise ModelFileError(
                f'{path}: this torch cannot load model files with weights_only=True; refusing '
                'to load it unsafely'
            ) from None
        raise ModelFileError(f'{path}: cannot be read as a model file ({e})') from None
    except (EOFError, RuntimeError, KeyError, ValueError, OSError) as e:
        message = ' '.join(str(e).split()) or 'the file ends too early'
        raise ModelFileError(
            f'{path}: cannot be read as a model file ({type(e).__name__}: {message[:200]}); '
            'is it truncated or not a ParlAI checkpoint?'
        ) from None
