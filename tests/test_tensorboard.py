"""
The viewer the project ships (``tensorboard``, in the lock) shows a training run's scalars:
a tiny model trained with ``--tensorboard-log true`` (ParlAI writes through tensorboardX), then
``tensorboard --logdir`` started on 127.0.0.1 and its scalar tags read back over HTTP.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

from parlai_prosocial import testing


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _scalar_tags(url, process, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                tags = json.load(response)
            if tags:
                return tags
        except OSError:
            pass  # not listening yet, or still reading the event files
        time.sleep(1)
    raise AssertionError(f'tensorboard did not answer {url} within {timeout} s')


def test_tensorboard_shows_the_training_scalars(tmp_path, sample_data_dir):
    model_file = str(tmp_path / 'model')
    testing.run_parlai(
        ['train_model', '-o', 'prosocial/tiny_generator', '-t', 'prosocial:rot_response',
         '-mf', model_file, '--num-epochs', '1', '--tensorboard-log', 'true'],
        cwd=str(tmp_path),
        env_extra={'PROSOCIAL_DATA_DIR': sample_data_dir},
    )
    logdir = model_file + '.tensorboard'
    assert any(name.startswith('events.out.tfevents') for name in os.listdir(logdir))
    port = _free_port()
    tensorboard = os.path.join(os.path.dirname(sys.executable), 'tensorboard')
    process = subprocess.Popen(
        [tensorboard, '--logdir', logdir, '--host', '127.0.0.1', '--port', str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        tags = _scalar_tags(f'http://127.0.0.1:{port}/data/plugin/scalars/tags', process)
    finally:
        process.terminate()
        process.wait(timeout=30)
    (run,) = tags.values()
    assert {'loss/train', 'ppl/train', 'total_train_updates/train'} <= set(run)
