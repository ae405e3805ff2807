"""
Helpers for parlai-prosocial's test suite (and for anyone testing code built on it): create a
teacher as ParlAI does for ``-t TASK``, read whole epochs, split them into episodes, run the stock
``parlai`` command in a new process. Like ``parlai.utils.testing``, this ships with the package, so
tests import it under its one installed name.
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
    ``data_dir``, with ``opts`` added; returns ``{'stance': model file, 'offensive': ...}``.
    """
    from parlai.scripts.train_model import TrainModel

    files = {}
    for name, task, classes in [
        ('stance', 'toxichat:stance', ['Agree', 'Disagree', 'Neutral']),
        ('offensive', 'toxichat:offensive', ['Safe', 'Offensive']),
    ]:
        files[name] = os.path.join(str(directory), name)
        TrainModel.main(
            init_opt='prosocial/tiny_classifier',
            task=task,
            model_file=files[name],
            classes=classes,
            toxichat_data_dir=str(data_dir),
            num_epochs=2,
            validation_every_n_epochs=1,
            **opts,
        )
        assert os.path.isfile(files[name]) and os.path.isfile(files[name] + '.opt')
    return files
