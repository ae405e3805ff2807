"""
The viewer the project ships (``tensorboard``, in the lock) shows a training run's scalars:
a tiny model trained with ``--tensorboard-log true`` (ParlAI writes through tensorboardX; the
command runs in this process, as ParlAI's tests run it), then ``tensorboard --logdir`` started on
127.0.0.1 and its scalars read back over HTTP: the training and validation curves, and the final
valid and test reports (``parlai_fixes`` ``final_reports_to_tensorboard``).
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from parlai_prosocial import testing


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _answer(url, process, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                answer = json.load(response)
            if answer:
                return answer
        except OSError:
            pass  # not listening yet, or still reading the event files
        time.sleep(1)
    raise AssertionError(f'tensorboard did not answer {url} within {timeout} s')


# tensorboardX's generated protobuf modules, imported by the run in this process
@pytest.mark.filterwarnings('ignore:Call to deprecated create function:DeprecationWarning')
def test_tensorboard_shows_the_curves_and_the_final_reports(tmp_path, sample_data_dir):
    model_file = str(tmp_path / 'model')
    testing.parlai_in_process(
        ['train_model', '-o', 'prosocial/tiny_generator', '-t', 'prosocial:rot_response',
         '-mf', model_file, '--num-epochs', '2', '--validation-every-n-epochs', '0.5',
         '--tensorboard-log', 'true'],
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
    url = f'http://127.0.0.1:{port}/data/plugin/scalars'
    try:
        tags = _answer(f'{url}/tags', process)
        ((run, run_tags),) = tags.items()
        points = {
            tag: _answer(f'{url}/scalars?run={urllib.parse.quote(run)}&tag={tag}', process)
            for tag in ('ppl/train', 'ppl/valid', 'ppl/final_valid', 'ppl/final_test')
        }
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert {'loss/train', 'total_train_updates/train', 'loss/valid', 'f1/final_test'} <= set(
        run_tags
    )
    # each point is [wall time, step, value]: a curve for training and validation, one point
    # for each final report, at the last step
    assert len(points['ppl/train']) >= 2 and len(points['ppl/valid']) >= 2
    last_step = max(step for _, step, _ in points['ppl/train'])
    for final in ('ppl/final_valid', 'ppl/final_test'):
        assert [step for _, step, _ in points[final]] == [last_step]
