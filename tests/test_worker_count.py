"""
N workers take the step one worker takes, and every distributed evaluation counts each example once
(issue 25; ``parlai_prosocial.exact_workers``, the fixes ``global_batch_as_one_process`` and
``evaluation_split_between_workers``; the teardown in ``parlai_fixes.cpu_distributed``).

The end-to-end test trains tiny presets of ours (dropout off) for a few steps on one worker (in
this process) and on two CPU workers (``multiprocessing_train``'s worker function, ParlAI's
``multiprocess_train``, for every run in turn in two new processes, with a timeout), with the same
global batch and seed, with and without ``--update-freq``, and compares the model files: every
weight agrees to 1e-5 (max absolute difference; measured: 4e-6 for the tiny T5's embeddings, 1e-6
or less elsewhere; 5e-3 before the fix). The exception is the attention key biases of ParlAI's
transformer (``k_lin.bias``): softmax ignores a shift shared by all keys, so their exact gradient
is 0, and Adam turns its rounding noise (~1e-9) into steps of about a tenth of the learning rate,
whatever the worker count (one worker with ``--update-freq 2`` is as far from one without); they
are only checked to stay within 1e-3.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from parlai_prosocial import testing

WEIGHT_TOLERANCE = 1e-5
#: the attention key biases of ParlAI's transformer: an exact gradient of 0 (see above)
KEY_BIAS_TOLERANCE = 1e-3
STEPS = 4
TIMEOUT = 600  # seconds for the two-worker runs together (they take well under a minute)

COMMON = ['--max-train-steps', STEPS, '--num-epochs', -1, '--validation-every-n-epochs', -1,
          '--skip-generation', 'true', '--loglevel', 'warn']
#: the global batch of every run, and the two ways to split an update of 4 between two workers
ONE_STEP = ['--global-batchsize', 4, '--batchsize', 4]
ACCUMULATED = ['--global-batchsize', 2, '--batchsize', 2, '--update-freq', 2]


def _model_args(name, tiny_t5):
    if name == 'prost':  # Prost (transformer/generator) on its 9:3:3:3:3:3:1 mixture
        return ['-o', 'prosocial/tiny_prost']
    # Canary (ParlAI's T5 agent) on its 4:1:1:1 mixture with the casual_safety tasks
    return ['-o', 'prosocial/tiny_canary', '--t5-model-arch', tiny_t5, '--t5-dropout', 0]


DRIVER = textwrap.dedent(
    """
    import json, pathlib, sys

    from parlai.scripts.multiprocessing_train import multiprocess_train, setup_args
    from parlai.utils.distributed import find_free_port
    import torch.multiprocessing


    def train_in_turn(rank, opts, ports, rank_offset=0):
        # one worker of each run in turn: multiprocessing_train's worker, ParlAI's own code
        for opt, port in zip(opts, ports):
            multiprocess_train(rank, opt, port, rank_offset)


    if __name__ == '__main__':  # (the spawned worker imports this file too)
        from parlai_prosocial.parlai_fixes.cpu_distributed import build_dict_for_workers

        opts = [setup_args().parse_args(args) for args in json.loads(sys.argv[1])]
        for opt in opts:
            build_dict_for_workers(opt)  # what multiprocessing_train does first on CPU
        ports = [find_free_port() for _ in opts]
        # one process for the second worker of every run: its start-up is paid once
        second = torch.multiprocessing.start_processes(
            train_in_turn, (opts, ports, 1), nprocs=1, join=False, start_method='spawn'
        )
        train_in_turn(0, opts, ports)
        second.join()
        # every run's process group is still held (parlai_fixes.cpu_distributed: until exit)
        names = [t.joinpath('comm').read_text().strip()
                 for t in pathlib.Path('/proc/self/task').iterdir()]
        print('GLOO_THREADS', names.count('pt_gloo_runloop'))
    """
)


@pytest.fixture(scope='module')
def runs(tmp_path_factory, task_sample_dirs, tiny_t5):
    """
    ``{(model, kind): model file}``: kind ``one`` (one worker, in this process), ``two`` (two
    workers, the same global batch of 4) and ``two_accumulated`` (two workers, a global batch of 2
    and ``--update-freq 2``: one update of 4); Prost also ``one_accumulated``. Trained once per
    test run (``built_once``: pytest-xdist may give this module's tests to both workers).
    """
    built = testing.built_once(tmp_path_factory, 'worker_count_runs',
                               lambda root: _train_every_run(root, task_sample_dirs, tiny_t5))
    files = {tuple(key.split('/')): path for key, path in built['files'].items()}
    files['gloo_threads'] = built['gloo_threads']
    return files


def _train_every_run(root, task_sample_dirs, tiny_t5):
    from parlai_prosocial.samples import write_casual

    env = dict(task_sample_dirs, PARLAI_DATAPATH=os.path.join(root, 'parlai_data'))
    write_casual(env['PARLAI_DATAPATH'])
    files, two_worker_args = {}, []
    plan = [('prost', 'one', ONE_STEP, 1), ('prost', 'one_accumulated', ACCUMULATED, 1),
            ('canary', 'one', ONE_STEP, 1), ('prost', 'two', ONE_STEP, 2),
            ('prost', 'two_accumulated', ACCUMULATED, 2), ('canary', 'two', ONE_STEP, 2),
            ('canary', 'two_accumulated', ACCUMULATED, 2)]
    for name, kind, batch, workers in plan:
        model_file = os.path.join(root, f'{name}_{kind}', 'model')
        files[f'{name}/{kind}'] = model_file
        os.makedirs(os.path.dirname(model_file))
        args = _model_args(name, tiny_t5) + COMMON + batch + ['-mf', model_file]
        if workers == 1:
            testing.parlai_in_process(['train_model'] + args, cwd=root, env_extra=env)
        else:
            two_worker_args.append([str(a) for a in args + ['--distributed-world-size', 2]])
    driver = os.path.join(root, 'driver.py')
    with open(driver, 'w', encoding='utf-8') as f:
        f.write(DRIVER)
    done = subprocess.run(
        [sys.executable, driver, json.dumps(two_worker_args)], cwd=root,
        env=dict(os.environ, PYTHONFAULTHANDLER='1', **env), capture_output=True, text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return {'files': files, 'gloo_threads': int(done.stdout.split('GLOO_THREADS')[-1])}


def _weights(model_file):
    return torch.load(model_file, map_location='cpu')['model']


def _stats(model_file):
    with open(model_file + '.trainstats') as f:
        return json.load(f)


@pytest.mark.parametrize('name, kind', [
    ('prost', 'two'), ('prost', 'two_accumulated'), ('prost', 'one_accumulated'),
    ('canary', 'two'), ('canary', 'two_accumulated'),
])
def test_the_same_update_on_any_worker_count_gives_the_same_weights(runs, name, kind):
    one, other = _weights(runs[name, 'one']), _weights(runs[name, kind])
    assert one.keys() == other.keys()
    far = {}
    for key in one:
        difference = (one[key].float() - other[key].float()).abs().max().item()
        tolerance = KEY_BIAS_TOLERANCE if key.endswith('k_lin.bias') else WEIGHT_TOLERANCE
        if difference >= tolerance:
            far[key] = difference
    assert not far, far
    # the same number of updates over the same number of examples
    first, second = _stats(runs[name, 'one']), _stats(runs[name, kind])
    assert first['train_steps'] == second['train_steps'] == STEPS
    assert first['total_epochs'] == pytest.approx(second['total_epochs'])


@pytest.mark.parametrize('name', ['prost', 'canary'])
def test_a_distributed_evaluation_counts_each_example_once(runs, name):
    # DailyDialog's and BlendedSkillTalk's ParlAI teachers (Prost's mixture) gave every worker
    # all of their examples; casual_safety's tasks (Canary's) split the wrapped task twice
    one, two = _stats(runs[name, 'one']), _stats(runs[name, 'two'])
    for report in ('final_valid_report', 'final_test_report'):
        counts = {key: value for key, value in one[report].items() if key.endswith('exs')}
        assert len(counts) > 2 and counts['exs'] > 0
        assert {key: two[report][key] for key in counts} == counts, report


def test_each_runs_process_group_is_held_until_the_process_exits(runs):
    # freed with the DDP model, gloo's group deadlocked at exit in 3 of 29 four-worker runs;
    # the driver process ended (above), after four runs whose groups it still held
    assert runs['gloo_threads'] >= 4


# --- each piece alone ----------------------------------------------------------------------------


def _opt(**options):
    from parlai.core.opt import Opt

    return Opt(dict(dict(datatype='train', batchsize=4, global_batchsize=4, update_freq=2,
                         seed=0), **options))


def test_only_a_run_of_ours_under_a_global_batch_gets_the_one_process_world():
    from parlai_prosocial.exact_workers import global_batch_plan

    ours = dict(model='transformer/generator', init_opt='prosocial/tiny_generator')
    plan = global_batch_plan(_opt(**ours))
    assert (plan.workers, plan.global_batch, plan.update_freq, plan.slots) == (1, 4, 2, 8)
    assert list(plan.slots_of(1)) == [4, 5, 6, 7]
    for not_ours in (
        dict(model='transformer/generator', task='integration_tests'),  # a ParlAI-only run
        dict(ours, global_batchsize=-1),  # ParlAI's per-worker --batchsize
        dict(ours, update_freq=1),  # one process without accumulation: ParlAI's own run
        dict(ours, datatype='valid'),
        dict(ours, dynamic_batching='full'),
    ):
        assert global_batch_plan(_opt(**not_ours)) is None, not_ours


def test_the_draws_are_kept_apart_from_the_rest_of_the_process():
    import random

    import numpy as np

    from parlai_prosocial.global_batch_world import DataStream

    def draws():
        return random.random(), np.random.rand()

    def seed(value):
        random.seed(value)
        np.random.seed(value)

    seed(3)
    expected = [draws(), draws()]
    seed(99)
    outside = [draws(), draws()]
    seed(99)
    stream = DataStream(3)  # as --seed 3 leaves the generators
    with stream.drawing():
        first = draws()
    model = draws()  # the model's draws in between do not change the data's
    with stream.drawing():
        second = draws()
    assert [first, second] == expected
    assert [model, draws()] == outside  # nor the data's the model's


@pytest.fixture(scope='module')
def casual_datapath(tmp_path_factory):
    from parlai_prosocial.samples import write_casual

    path = str(tmp_path_factory.mktemp('casual'))
    write_casual(path)
    return path


def _evaluation(task, share=None, **options):
    """
    One valid epoch of ``task``'s teacher (batch size 1) given the share ``(rank, N)``.
    """
    from parlai.core.teachers import create_task_agent_from_taskname

    from parlai_prosocial.exact_workers import EVALUATION_SHARD

    opt = testing.teacher_opt(task, 'valid', **options)
    if share is not None:
        opt[EVALUATION_SHARD] = share
    messages = testing.one_epoch(create_task_agent_from_taskname(opt)[0])
    return [(m['text'], tuple(m['eval_labels'])) for m in messages]


@pytest.mark.parametrize('task', ['dailydialog', 'blended_skill_talk'])
def test_worker_shares_of_an_evaluation_cover_every_episode_once(task, casual_datapath):
    everything = _evaluation(task, datapath=casual_datapath)
    for workers in (2, 3):
        shares = [_evaluation(task, (rank, workers), datapath=casual_datapath)
                  for rank in range(workers)]
        assert sorted(sum(shares, [])) == sorted(everything)
        assert workers > 2 or all(shares)


def test_a_teacher_that_splits_evaluation_itself_is_left_alone(sample_data_dir):
    from parlai_prosocial.exact_workers import splits_evaluation_itself

    teacher = testing.create_teacher('prosocial:rot_response', 'valid',
                                     prosocial_data_dir=sample_data_dir)
    assert splits_evaluation_itself(teacher)
    # (its own reading splits it when torch.distributed runs: never twice)
    assert _evaluation('prosocial:rot_response', (1, 2), prosocial_data_dir=sample_data_dir) == \
        _evaluation('prosocial:rot_response', prosocial_data_dir=sample_data_dir)


def test_reading_as_one_process_reads_the_whole_split():
    import parlai.core.teachers as teachers_module

    from parlai_prosocial.exact_workers import EVALUATION_SHARD, read_as_one_process

    distributed = teachers_module.is_distributed
    with read_as_one_process({EVALUATION_SHARD: (1, 2), 'rank': 1,
                              'distributed_world_size': 2}) as opt:
        assert teachers_module.is_distributed() is False
        assert EVALUATION_SHARD not in opt
        assert (opt['rank'], opt['distributed_world_size']) == (0, 1)
    assert teachers_module.is_distributed is distributed
