"""
The plugin's errors: one base class, and how the ``parlai`` command line shows them.

Every error this plugin raises about its data, its options, its downloads or a model file is a
:class:`ProsocialError` whose message is one line: what is wrong, where (the file, then the row or
field: ``train.json: line 4: missing field "rots"``) and what was expected. Data errors are also
``ValueError`` (as they always were), download errors also ``OSError``.

At the command line (``parlai display_data ...``) such an error is shown as that one line,
``ProsocialDataError: <message>``, and the command exits with status 1, without a traceback. The
traceback is shown with ParlAI's own ``--debug`` flag, or with the environment variable
``PARLAI_PROSOCIAL_TRACEBACK=1``. This works through ``sys.excepthook`` (installed when this
module is imported, i.e. as soon as any of the plugin's tasks or agents is), which is only
consulted for an exception nobody caught; every other exception is shown as Python shows it. An
error raised in a worker of ``multiprocessing_train`` (which torch re-raises in the parent with
the worker's traceback as text) is shown as the same one line.
"""

import os
import sys

#: set to 1 (or true / yes) to see the traceback of the plugin's errors
TRACEBACK_ENV = 'PARLAI_PROSOCIAL_TRACEBACK'


class ProsocialError(Exception):
    """
    Base class of every error of this plugin that a user can fix (bad data, option, download,
    model file); the message is one line naming the file, the row or field and what was expected.
    """


class ProsocialDataError(ProsocialError, ValueError):
    """
    A data file that cannot be read as it is. Each task has its own subclass.
    """


class ProsocialOptionError(ProsocialError):
    """
    A command line option (or the environment variable giving its default) with a bad value.

    Deliberately not a ``ValueError``: argparse would turn that into its own message and print
    ParlAI's whole ``--help`` with it.
    """


class UnknownPresetError(ProsocialOptionError, FileNotFoundError):
    """
    ``-o prosocial/NAME`` with no such preset. Also the ``FileNotFoundError`` ParlAI raises for
    an unknown preset, which its parser expects (and ignores) on its first look.
    """


class ProsocialDownloadError(ProsocialError, OSError):
    """
    A download that failed: HTTP error, timeout, wrong size or checksum.
    """


class ModelFileError(ProsocialError):
    """
    A model file that cannot be read, or that is refused because loading it could run code.
    """


class ExportError(ProsocialError):
    """
    A model that ``python -m parlai_prosocial.export`` cannot write as a Hugging Face folder: a
    model file of another kind, an architecture or dictionary HF cannot express, an ``--out``
    that is not empty.
    """


def one_line(error):
    """
    How the command line shows ``error``: its class name and its message, on one line.
    """
    message = ' '.join(str(error).split('\n'))
    return f'{type(error).__name__}: {message}'


def traceback_wanted(argv=None):
    argv = sys.argv if argv is None else argv
    if os.environ.get(TRACEBACK_ENV, '').strip().lower() in ('1', 'true', 'yes'):
        return True
    return '--debug' in argv


def worker_error_line(exc):
    """
    The one line of a :class:`ProsocialError` raised in a worker of ``multiprocessing_train``:
    torch's ``spawn`` re-raises it in the parent as a ``ProcessRaisedException`` holding the
    worker's traceback as text, whose last line is ``<module>.<ErrorClass>: <message>``. None if
    ``exc`` is not that.
    """
    if type(exc).__name__ != 'ProcessRaisedException':
        return None
    lines = [line for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return None
    qualified, separator, message = lines[-1].partition(': ')
    module_name, _, name = qualified.rpartition('.')
    if not separator or not module_name.startswith('parlai_prosocial.'):
        return None
    try:
        import importlib

        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError):
        return None
    if isinstance(cls, type) and issubclass(cls, ProsocialError):
        return f'{name}: {message}'
    return None


def _excepthook(exc_type, exc, tb, _previous=None):
    if not traceback_wanted():
        line = one_line(exc) if isinstance(exc, ProsocialError) else worker_error_line(exc)
        if line is not None:
            sys.stderr.write(line + '\n')
            sys.stderr.flush()
            return
    (_previous or sys.__excepthook__)(exc_type, exc, tb)


def install_excepthook():
    """
    Show uncaught :class:`ProsocialError` s as one line (see the module docstring); other
    exceptions go to the hook that was there before. Calling it again does nothing.
    """
    current = sys.excepthook
    if getattr(current, '_prosocial', False):
        return

    def hook(exc_type, exc, tb):
        _excepthook(exc_type, exc, tb, current)

    hook._prosocial = True
    sys.excepthook = hook


install_excepthook()
