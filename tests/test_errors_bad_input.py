"""
How the command line shows the plugin's errors (``parlai_prosocial.errors``): one line for a
``ProsocialError``, also when it was raised in a ``multiprocessing_train`` worker; the traceback on
request; every other exception untouched.
"""

import io
import sys

import pytest
from torch.multiprocessing import ProcessRaisedException

from parlai_prosocial import errors
from parlai_prosocial.tasks.prosocial.data import ProsocialDataError


def shown(exc, monkeypatch, argv=('parlai', 'display_data'), env=None):
    stderr = io.StringIO()
    previous = []
    monkeypatch.setattr(sys, 'stderr', stderr)
    monkeypatch.setattr(sys, 'argv', list(argv))
    monkeypatch.delenv(errors.TRACEBACK_ENV, raising=False)
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    errors._excepthook(type(exc), exc, None, lambda *a: previous.append(a[1]))
    return stderr.getvalue(), previous


def test_one_line_for_our_errors(monkeypatch):
    exc = ProsocialDataError('/d/train.json: line 4: missing field "rots"')
    assert shown(exc, monkeypatch) == (
        'ProsocialDataError: /d/train.json: line 4: missing field "rots"\n', []
    )


@pytest.mark.parametrize(
    'argv, env',
    [
        (('parlai', 'display_data', '--debug'), {}),
        (('parlai',), {'PARLAI_PROSOCIAL_TRACEBACK': '1'}),
    ],
)
def test_traceback_on_request(monkeypatch, argv, env):
    exc = ProsocialDataError('x: line 1: bad')
    assert shown(exc, monkeypatch, argv, env) == ('', [exc])


def test_other_exceptions_untouched(monkeypatch):
    exc = KeyError('not ours')
    assert shown(exc, monkeypatch) == ('', [exc])


def test_an_error_in_a_worker(monkeypatch):
    text = (
        '\n\n-- Process 1 terminated with the following error:\nTraceback (most recent call '
        'last):\n  File "x.py", line 1, in f\n'
        'parlai_prosocial.tasks.soda.data.SodaDataError: /d/train.parquet: row 3: field '
        '"dialogue" is an empty list\n'
    )
    exc = ProcessRaisedException(text, 1, 1234)
    assert shown(exc, monkeypatch) == (
        'SodaDataError: /d/train.parquet: row 3: field "dialogue" is an empty list\n', []
    )
    other = ProcessRaisedException(text.replace('SodaDataError', 'ZeroDivisionError'), 1, 1)
    assert shown(other, monkeypatch) == ('', [other])


def test_messages_are_one_line():
    assert errors.one_line(ProsocialDataError('a\nb')) == 'ProsocialDataError: a b'
