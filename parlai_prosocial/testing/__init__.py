"""
Helpers for parlai-prosocial's test suite (and for anyone testing code built on it): create a
teacher as ParlAI does for ``-t TASK``, read whole epochs, split them into episodes, run a
``parlai`` command in this process (or, where the command line itself is the subject, the stock
command in a new one), run a recipe's commands in this process, and build a tiny model once for
all the ``pytest-xdist`` workers of a run, in a directory of the run's own (:func:`built_once`,
:func:`begin_run`); Canary for tests: :mod:`.canary`; untrained and copied model files:
:mod:`.models`. Like ``parlai.utils.testing``, this ships with the package, so tests import it
under its one installed name.
"""

import contextlib
import os
import subprocess
import sys

#: every datatype a teacher must serve whole epochs of, in memory and streamed
DATATYPES = [
    'train:ordered',
    'train:stream:ordered',
    'valid',
    'valid:stream',
    'test',
    'test:stream',
]


def run_parlai(args, cwd, env_extra=None, python=sys.executable, check=True):
    """
    Run the stock ``parlai`` command (``python -m parlai ARGS``) in a new process, as a user does;
    a failure shows the command's output.
    """
    env = dict(os.environ, **(env_extra or {}))
    result = subprocess.run(
        [python, '-m', 'parlai'] + list(args),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f'parlai {" ".join(args)} failed ({result.returncode}):\n{result.stdout[-3000:]}'
            f'\n{result.stderr[-3000:]}'
        )
    return result


@contextlib.contextmanager
def _environment(env_extra=None, cwd=None):
    """
    ``os.environ`` updated with ``env_extra`` and the working directory ``cwd`` for the block;
    both restored after it.
    """
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.update({k: str(v) for k, v in (env_extra or {}).items()})
    if cwd is not None:
        os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


@contextlib.contextmanager
def _output_to(stream):
    """
    Everything a ``parlai`` command prints (stdout, stderr and ParlAI's log, whose handler holds
    the stream it was created with) written to ``stream`` for the block; the log level restored.
    """
    from parlai.utils import logging

    handler = logging.logger.streamHandler
    level, formatter = logging.logger.level, handler.formatter
    previous = handler.setStream(stream)
    try:
        with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
            yield
    finally:
        handler.setStream(previous)
        handler.setFormatter(formatter)
        logging.set_log_level(level)


@contextlib.contextmanager
def parlai_warnings_logged():
    """
    The messages of the warnings (and errors) ParlAI's logger emits in the block, as a list
    filled while it runs.
    """
    import logging as std_logging

    from parlai.utils.logging import logger

    records = []
    handler = std_logging.Handler(std_logging.WARNING)
    handler.emit = lambda record: records.append(record.getMessage())
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


class InProcessRun:
    """
    What :func:`parlai_in_process` ran: ``value`` (the script's return value, e.g. train_model's
    valid and test reports) and ``output`` (everything it printed and logged).
    """

    def __init__(self, value, output):
        self.value, self.output = value, output


def parlai_in_process(args, cwd=None, env_extra=None, stdin=None, output=None):
    """
    ``parlai ARGS`` run in this process, through the command's own dispatch
    (``parlai.core.script.superscript_main``), with ``env_extra`` in the environment, ``cwd`` the
    working directory and ``stdin`` (a string) what ``parlai interactive`` reads, for the run: what
    :func:`run_parlai` does in a new process, without the seconds of torch and ParlAI imports. An
    error propagates as the exception it is. What it prints goes to ``output`` (a stream) if
    given, else into the returned run's ``output``.
    """
    import io

    from parlai.core.script import superscript_main

    captured = output is None
    output = io.StringIO() if captured else output
    saved_stdin = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        with _environment(env_extra, cwd), _output_to(output):
            value = superscript_main([str(a) for a in args])
    finally:
        sys.stdin = saved_stdin
    return InProcessRun(value, output.getvalue() if captured else None)


def one_line_error(run, *args, error=None, **kwargs):
    """
    The one line ``run(*args, **kwargs)`` stops with, as the ``parlai`` command shows it
    (``<ErrorClass>: <message>``): it must raise a ``ProsocialError`` (``error``: that subclass of
    it) whose message is one line.
    """
    import pytest

    from parlai_prosocial.errors import ProsocialError, one_line

    with pytest.raises(error or ProsocialError) as info:
        run(*args, **kwargs)
    line = one_line(info.value)
    assert '\n' not in str(info.value), line
    return line


def parlai_one_line_error(args, cwd, env_extra=None):
    """
    The one line ``parlai ARGS`` stops with, run in this process (:func:`parlai_in_process`) in
    ``cwd`` with ``env_extra``: :func:`one_line_error`.
    """
    return one_line_error(parlai_in_process, args, cwd=str(cwd), env_extra=env_extra)


def commands_in_process(monkeypatch, module):
    """
    The ``python -m parlai ...`` commands a recipe or benchmark ``module`` starts with
    ``subprocess.run`` run in this process instead (:func:`parlai_in_process`, its ``env``,
    ``cwd`` and ``stdout`` file as given; an error is a return code of 1 with its traceback in that
    output); any other command still gets a new process. For tests of what the recipe does with
    its commands, where the command line itself is not the subject.
    """
    import types

    def run(command, stdout=None, stderr=None, env=None, cwd=None, check=False, **kwargs):
        command = [str(c) for c in command]
        if command[:3] != [sys.executable, '-m', 'parlai']:
            return subprocess.run(command, stdout=stdout, stderr=stderr, env=env, cwd=cwd,
                                  check=check, **kwargs)
        import io
        import traceback

        stream = stdout if hasattr(stdout, 'write') else io.StringIO()
        env_extra = {k: v for k, v in (env or {}).items() if os.environ.get(k) != v}
        returncode = 0
        try:
            parlai_in_process(command[3:], cwd, env_extra, output=stream)
        except SystemExit as exit:
            returncode = exit.code if isinstance(exit.code, int) else 1
        except Exception:
            traceback.print_exc(file=stream)
            returncode = 1
        if check and returncode:
            raise subprocess.CalledProcessError(returncode, command)
        captured = stream.getvalue() if isinstance(stream, io.StringIO) else None
        return subprocess.CompletedProcess(command, returncode, captured, captured)

    monkeypatch.setattr(module, 'subprocess', types.SimpleNamespace(
        run=run, STDOUT=subprocess.STDOUT, PIPE=subprocess.PIPE,
        CalledProcessError=subprocess.CalledProcessError,
        CompletedProcess=subprocess.CompletedProcess,
    ))


def run_script_in_process(monkeypatch, path, args):
    """
    ``python PATH ARGS`` (a recipe or benchmark script with a ``main()``) run in this process, its
    ``parlai`` commands too (:func:`commands_in_process`); ``main()``'s return value.
    """
    import importlib.util

    folder, file_name = os.path.split(os.path.abspath(path))
    name = f'_script_{os.path.basename(folder)}_{os.path.splitext(file_name)[0]}'
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    commands_in_process(monkeypatch, module)
    monkeypatch.setattr(sys, 'argv', [path] + [str(a) for a in args])
    return module.main()


#: the directory of one test run, shared by its ``pytest-xdist`` workers, where :func:`built_once`
#: builds: set by :func:`begin_run` in the run's controller, inherited by the workers it starts
RUN_DIR_ENV = 'PARLAI_PROSOCIAL_TEST_RUN_DIR'


#: the name of every run directory starts so
RUN_DIR_PREFIX = 'parlai_prosocial_tests_'
#: a run directory left this long is a killed run's (no run lasts that long; pytest's own age for
#: a stale lock), removed by the next run that begins
STALE_RUN_SECONDS = 3 * 24 * 3600


def begin_run():
    """
    A new directory for this test run (``tempfile.mkdtemp``: no other run, and no pytest temp
    directory rotation, ever touches it), named in the environment for the ``pytest-xdist``
    workers started after it; returns it. The caller removes it when the run ends (the root
    ``conftest.py``: ``pytest_configure`` in the controller, removed at ``pytest_unconfigure``);
    a killed run's is removed here once it is :data:`STALE_RUN_SECONDS` old.
    """
    import glob
    import shutil
    import tempfile
    import time

    for old in glob.glob(os.path.join(tempfile.gettempdir(), RUN_DIR_PREFIX + '*')):
        try:
            stale = time.time() - os.path.getmtime(old) > STALE_RUN_SECONDS
        except OSError:
            continue  # gone meanwhile
        if stale:
            shutil.rmtree(old, ignore_errors=True)
    directory = tempfile.mkdtemp(prefix=RUN_DIR_PREFIX)
    os.environ[RUN_DIR_ENV] = directory
    return directory


def built_once(tmp_path_factory, name, build):
    """
    ``build(directory)`` run once per test run, however many ``pytest-xdist`` workers share it,
    in ``<run directory>/<name>`` (:func:`begin_run`; without one, a suite that did not call it,
    in this process's pytest base temp): the first worker to ask builds under a file lock, the
    others wait and reuse it; a build that failed half-way is started again by the next one to
    ask. ``build`` returns what the callers need (JSON: paths, numbers), which is returned to
    every caller. For the tiny models several test files train the same way.
    """
    import json
    import shutil

    from filelock import FileLock

    root = os.environ.get(RUN_DIR_ENV) or str(tmp_path_factory.getbasetemp() / 'built_once')
    directory = os.path.join(root, name)
    done = directory + '.json'
    os.makedirs(root, exist_ok=True)
    with FileLock(directory + '.lock'):
        if not os.path.isfile(done):
            shutil.rmtree(directory, ignore_errors=True)  # a build that failed half-way
            os.makedirs(directory)
            value = build(directory)
            with open(done + '.tmp', 'w', encoding='utf-8') as f:
                json.dump(value, f)
            os.replace(done + '.tmp', done)
        with open(done, encoding='utf-8') as f:
            return json.load(f)


def real_data_folder(path):
    """
    ``path``, a folder of the project's real data (``../shared/data`` beside the repository, which
    users need not have), for a test that measures on it: absent, the test is skipped saying so,
    but under CI (``CI=true``, where it is always present) it fails.
    """
    import pytest

    if not os.path.isdir(path):
        message = (
            f'the real data folder {path} is not here (../shared/data beside the repository, or '
            'PROSOCIAL_TEST_REAL_DATA_DIR: the project\'s measurement data, which users need not '
            'have)'
        )
        if os.environ.get('CI', '').lower() == 'true':
            pytest.fail(message)
        pytest.skip(message)
    return path


def teacher_opt(task, datatype, **opts):
    """
    The opt ParlAI builds for ``-t task -dt datatype`` (with a do-nothing model), plus ``opts``.
    """
    from parlai.core.params import ParlaiParser

    return ParlaiParser(True, True).parse_kwargs(
        task=task,
        datatype=datatype,
        model='fixed_response',
        fixed_response='none',
        batchsize=1,
        **opts,
    )


def create_teacher(task, datatype, **opts):
    from parlai.core.teachers import create_task_agent_from_taskname

    return create_task_agent_from_taskname(teacher_opt(task, datatype, **opts))[0]


def one_epoch(teacher, limit=100_000):
    """
    Every message of one epoch; an epoch without any example (possible on tiny fixtures) is one
    padding act, which is left out.
    """
    messages = []
    while not teacher.epoch_done():
        message = teacher.act()
        if not message.get('batch_padding'):
            messages.append(message)
        assert len(messages) < limit, 'the epoch never ends'
    return messages


def episodes_of(messages):
    episodes, current = [], []
    for message in messages:
        current.append(message)
        if message['episode_done']:
            episodes.append(current)
            current = []
    assert not current, 'the last message does not end its episode'
    return episodes


@contextlib.contextmanager
def local_http_server(handler_class):
    """
    An HTTP server on 127.0.0.1 (a free port) answering with ``handler_class``, in a thread, for
    the ``with`` block; yields its base URL.
    """
    import http.server
    import threading

    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler_class)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f'http://127.0.0.1:{httpd.server_address[1]}'
    finally:
        httpd.shutdown()
        httpd.server_close()


def train_toxichat_classifiers(directory, data_dir, **opts):
    """
    Tiny ``transformer/classifier`` stance and offensive classifiers trained with ParlAI's
    ``train_model`` (``-o prosocial/tiny_classifier``, 2 epochs) on the ToxiChat files in
    ``data_dir``, with ``opts`` added; returns ``{'stance': model file, 'offensive': ...}``. No
    ``--classes``: each teacher gives its own.
    """
    from parlai.scripts.train_model import TrainModel

    files = {}
    for name in ('stance', 'offensive'):
        files[name] = os.path.join(str(directory), name)
        TrainModel.main(
            init_opt='prosocial/tiny_classifier',
            task=f'toxichat:{name}',
            model_file=files[name],
            toxichat_data_dir=str(data_dir),
            num_epochs=2,
            validation_every_n_epochs=1,
            **opts,
        )
        assert os.path.isfile(files[name]) and os.path.isfile(files[name] + '.opt')
    return files
