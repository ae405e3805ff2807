"""
Loading model files without running code that may be in them.

ParlAI 1.7.2's ``TorchAgent.load`` calls ``torch.load(f, ..., pickle_module=parlai.utils.pickle)``;
passing a ``pickle_module`` turns torch's ``weights_only`` loading off, so a model file (``-mf``,
``--init-model``, a downloaded or shared checkpoint) holding a pickled payload ran it when the
model was loaded (``parlai vacuum`` loaded the same way). And ``Opt.load`` unpickles a ``.opt``
file that is not UTF-8 text (ParlAI's oldest format), so a payload there ran too. With this plugin
installed (``parlai_fixes.safe_checkpoint_loading``, ``safe_vacuum_loading``,
``safe_opt_loading``) every TorchAgent checkpoint (Prost, Canary, the guard and the models it
guards, the ToxiChat classifiers, any ParlAI model, a zoo model) is loaded by
:func:`load_checkpoint`, and a pickled ``.opt`` by :func:`load_pickled_opt`:

* with ``torch.load(..., weights_only=True)``: tensors, numbers, strings and containers, plus
  exactly the types ParlAI's own checkpoints need (:func:`checkpoint_types`: the numpy float64
  that ``--lr-scheduler invsqrt`` leaves in the optimizer and scheduler states), allowed only
  while we load (torch's ``safe_globals``), never for the rest of the process.
* A file that needs more (another pickled class or function) is refused with one line naming it
  and saying how to trust it, unless the user trusts it: listed in the environment variable
  ``PARLAI_PROSOCIAL_TRUSTED_MODEL_FILES`` (paths separated by ``:``; a directory trusts the files
  under it). A trusted file is loaded as ParlAI loads it. Nothing else makes a file trusted: not
  where it lies, not a marker beside it (anyone who can write the folder can write the marker).
* A file that cannot be read at all (missing, truncated, not a checkpoint) is one line naming it.

This fails closed: if torch cannot load with ``weights_only``, nothing is loaded.

:func:`saved_options` is the one reader of the options saved beside a model file (``MODEL.opt``)
for the plugin's own code (agents, zoo installs, the report, the recipes): JSON, or a pickled
``.opt`` through :func:`load_pickled_opt`; a missing, cut or foreign file is one line naming it.
:func:`dictionary_tokens` and :func:`dictionary_problem` are the one reader of the ``.dict`` saved
beside it.
"""

import contextlib
import json
import os
import pickle
import re

from parlai_prosocial.errors import ModelFileError

TRUSTED_ENV = 'PARLAI_PROSOCIAL_TRUSTED_MODEL_FILES'

#: what torch's weights-only unpickler names when it refuses a class or function (a GLOBAL, an
#: object of a class it may not build, a function it may not call)
_REFUSED_NAME = r"GLOBAL ([\w.]+)|but got <class '([^']+)'>|unrecognized function ([\w.<>]+)"


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


def refusal_message(path, reason, holds='this model file holds more than weights'):
    return (
        f'{path}: refused to load: {holds} ({reason}), and loading it could run code in it; if '
        f'you trust the file, allow it with {TRUSTED_ENV}={path}'
    )


def checkpoint_types():
    """
    What ParlAI's checkpoints hold beyond tensors, numbers, strings and containers, as torch's
    ``safe_globals`` takes them (numpy imported only here).

    ``--lr-scheduler invsqrt`` computes its learning rate with ``np.sqrt``, so the optimizer's
    ``param_groups`` and the scheduler's state hold numpy float64 values, which pickle as
    ``numpy.core.multiarray.scalar(numpy.dtype('f8'), bytes)``; every other optimizer, scheduler
    and the fp16 wrappers' ``loss_scaler`` store plain Python numbers (tests/test_safe_loading.py
    trains with each). The scalar function only turns a dtype and bytes into a number; the dtype
    can be built (its state set) only for float64, the one class allowed here.
    """
    import numpy

    scalar = numpy.core.multiarray.scalar
    return [
        (scalar, 'numpy.core.multiarray.scalar'),  # the name numpy 1.x pickles it under
        (scalar, 'numpy._core.multiarray.scalar'),  # numpy 2.x's name for it
        numpy.dtype,
        type(numpy.dtype(numpy.float64)),  # numpy.dtype[float64] (numpy.dtypes.Float64DType)
    ]


@contextlib.contextmanager
def _checkpoint_types_allowed():
    """
    :func:`checkpoint_types` allowed for torch's ``weights_only`` loading within the block only;
    what the user (or another library) allowed process-wide before stays allowed after it.
    """
    import torch

    already = torch.serialization.get_safe_globals()
    with torch.serialization.safe_globals([t for t in checkpoint_types() if t not in already]):
        yield


def load_checkpoint(path, unsafe_load):
    """
    The states of the checkpoint ``path``, loaded with ``weights_only`` (plus
    :func:`checkpoint_types`); ``unsafe_load(path)`` (ParlAI's own loading) only for a file the
    user trusts (:data:`TRUSTED_ENV`) that needs more.
    """
    import torch

    if not os.path.isfile(path):
        raise ModelFileError(f'{path}: no such model file')
    try:
        with open(path, 'rb') as f, _checkpoint_types_allowed():
            return torch.load(f, map_location=lambda cpu, _: cpu, weights_only=True)
    except pickle.UnpicklingError as e:
        if trusted_by_env(path):
            return unsafe_load(path)
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        found = re.search(_REFUSED_NAME, str(e))
        if found is not None:  # a pickled function or class: what could run code
            name = next(group for group in found.groups() if group)
            raise ModelFileError(refusal_message(path, f'the pickled {name}')) from None
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


class _GlobalRefused(pickle.UnpicklingError):
    pass


class _DataOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        raise _GlobalRefused(f'{module}.{name}')


def load_pickled_opt(path, unsafe_load):
    """
    The options of a pickled ``.opt`` file (ParlAI's oldest format; ``Opt.load`` reads one when the
    file is not UTF-8 text): dicts, lists, strings and numbers only, no class or function, which
    is all an ``Opt`` holds; ``unsafe_load(path)`` (ParlAI's ``pickle.load``) only for a file the
    user trusts (:data:`TRUSTED_ENV`).
    """
    if trusted_by_env(path):
        return unsafe_load(path)
    with open(path, 'rb') as f:
        try:
            options = _DataOnlyUnpickler(f).load()
        except _GlobalRefused as e:
            raise ModelFileError(refusal_message(
                path, e, 'this option file is pickled and holds more than options'
            )) from None
        except Exception as e:  # noqa: BLE001 - anything a cut or foreign file raises
            message = ' '.join(str(e).split()) or 'the file ends too early'
            raise ModelFileError(
                f'{path}: cannot be read as an option file ({type(e).__name__}: '
                f'{message[:200]}); it is neither JSON nor a pickled ParlAI .opt'
            ) from None
    if not isinstance(options, dict):
        raise ModelFileError(
            f'{path}: cannot be read as an option file (a pickled {type(options).__name__}, not '
            'the dict of a ParlAI .opt)'
        )
    return options


def _trusted_pickle_load(path):
    with open(path, 'rb') as f:
        return pickle.load(f)


def _refuse_text_pickle(opt_file, data):
    """
    One line if ``data`` (not JSON) is a whole pickle in text form (protocol 0, Python 2's
    default): ParlAI's ``Opt.load`` unpickles only a ``.opt`` that is not UTF-8, so it fails on
    such a file with a ``JSONDecodeError``; it is refused here too, read by ``pickletools`` (which
    runs nothing) only to say so.
    """
    import pickletools

    try:
        opcodes = list(pickletools.genops(data))
    except Exception:  # noqa: BLE001 - not a pickle
        return
    if not opcodes or opcodes[-1][0].name != 'STOP':
        return
    named = [str(arg).replace(' ', '.') for op, arg, _ in opcodes if op.name in ('GLOBAL', 'INST')]
    holds = f', holding more than options ({named[0]})' if named else ''
    raise ModelFileError(
        f'{opt_file}: a pickle in text form{holds}, which ParlAI does not read as options (JSON, '
        'or a binary pickle of ParlAI\'s oldest format): refused; save the options as JSON '
        '(ParlAI\'s Opt.save) where you trust the file'
    )


def saved_options(opt_file, missing_ok=False):
    """
    The options saved beside a model file, read from ``opt_file`` (``MODEL.opt``) as a dict: JSON
    (what ParlAI writes), or ParlAI's oldest pickled format through :func:`load_pickled_opt` (data
    only unless the user trusts the file). Each way it can fail is one line naming the file: it
    is missing (None instead with ``missing_ok``: ParlAI loads a model file without one), cut or
    not JSON, a pickle holding more than options, or anything but a dict at the top.
    """
    if not os.path.isfile(opt_file):
        if missing_ok:
            return None
        raise ModelFileError(
            f'{opt_file}: no such option file; a model file comes with its .opt beside it (copy '
            'it with the model file)'
        )
    with open(opt_file, 'rb') as f:
        data = f.read()
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError:  # not text: ParlAI's oldest .opt format, a pickle
        return load_pickled_opt(opt_file, _trusted_pickle_load)
    try:
        options = json.loads(text)
    except ValueError as e:
        if not text.strip():
            raise ModelFileError(
                f'{opt_file}: not valid JSON (the file is empty); it holds the options of the '
                f'model file {opt_file[:-4]}: copy it again, or train the model again'
            ) from None
        _refuse_text_pickle(opt_file, data)
        raise ModelFileError(
            f'{opt_file}: not valid JSON ({e}); is it cut short? It holds the options of the '
            f'model file {opt_file[:-4]}: copy it again, or train the model again'
        ) from None
    if not isinstance(options, dict):
        raise ModelFileError(
            f'{opt_file}: cannot be read as an option file (a JSON {type(options).__name__}, '
            'not the object of a ParlAI .opt)'
        )
    return options


# --- the dictionary saved beside a model file (ParlAI's ``token<TAB>count`` lines) --------------


def dictionary_tokens(dict_file):
    """
    The tokens of a ParlAI ``.dict`` file, in its order.
    """
    from parlai.core.dict import unescape

    try:
        with open(dict_file, encoding='utf-8') as f:
            return [unescape(line.rstrip('\n').split('\t')[0]) for line in f if line.strip()]
    except UnicodeDecodeError:
        raise ModelFileError(
            f'{dict_file}: not a ParlAI dictionary (not UTF-8 text); copy it again with its '
            'model file'
        ) from None


def dictionary_problem(dict_file):
    """
    What is wrong with ``dict_file`` as a ParlAI dictionary, as the end of a sentence naming it
    (``'is missing'``, ``'is empty'``, ...); None if nothing is.
    """
    if not os.path.isfile(dict_file):
        return 'is missing'
    with open(dict_file, 'rb') as f:
        data = f.read()
    if not data.strip():
        return 'is empty'
    try:
        lines = data.decode('utf-8').splitlines()
    except UnicodeDecodeError:
        return 'is not text (a ParlAI dictionary is token<TAB>count lines)'
    for number, line in enumerate(lines, 1):
        fields = line.split('\t')
        if len(fields) > 1 and not fields[1].strip().lstrip('-').isdigit():
            return (f'line {number} is not token<TAB>count ({line[:40]!r}): cut, or not a ParlAI '
                    'dictionary')
    return None


def dictionary_ends_inside_a_line(dict_file):
    """
    Whether ``dict_file`` was cut inside a line (ParlAI ends each with a newline): its last
    token is then a piece of one.
    """
    with open(dict_file, 'rb') as f:
        f.seek(0, os.SEEK_END)
        if f.tell() == 0:
            return False
        f.seek(-1, os.SEEK_END)
        return f.read(1) != b'\n'
