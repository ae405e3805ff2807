"""
Distributed training without GPUs: ``parlai multiprocessing_train`` and SLURM's
``distributed_train`` on CPU workers (gloo) for a run of ours, through the fixes in
``parlai_prosocial.parlai_fixes.cpu_distributed`` (``distributed_on_cpu``, ``join_on_cpu``,
``build_dict_before_spawning``), and ``--global-batchsize`` (``parlai_prosocial.global_batch``):
the batch of one step over all workers. A run that names nothing of ours keeps ParlAI's code.

The end-to-end runs check what both workers did, not just the exit code: the data was split
between them, each logged its own lines, the model saved by rank 0 evaluates, and the run neither
hung (timeout) nor aborted at teardown. The unit tests take each fix alone.
"""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

import parlai.utils.distributed as distributed_utils
import parlai.utils.fsdp as fsdp_utils
from parlai.scripts.multiprocessing_train import setup_args as mp_train_setup_args

from parlai_prosocial.global_batch import per_worker_batchsize
from parlai_prosocial.parlai_fixes.cpu_distributed import build_dict_for_workers, cpu_only
from parlai_prosocial.testing.samples import prosocial_dialogues

SAMPLE = prosocial_dialogues()
WORLD = 2
EPOCHS = 4
BATCHSIZE = 4  # prosocial/tiny_generator's
TURNS = {split: sum(len(dialogue) for dialogue in SAMPLE[split]) for split in SAMPLE}
#: what makes a bare distributed opt one of a run of ours (the CPU path is ours only)
OURS = {'task': 'prosocial:rot_response'}
TIMEOUT = 180  # seconds (a run takes well under a minute); a hang fails instead of blocking

# what a worker dying at teardown (or a crashed peer) leaves in the output
TEARDOWN_FAILURES = [
    'Traceback',
    'Connection closed by peer',
    'Connection reset by peer',
    'terminate called',
    'Aborted',
    'ProcessExitedException',
    'ProcessRaisedException',
]


def free_port():
    # ParlAI's own choice when --port is not given: bind port 0, read the port the OS picked
    return distributed_utils.find_free_port()


def run(cmds, cwd, env_extra, timeout=TIMEOUT):
    """
    Start every command at once (each in its own process group), wait for all of them; on
    timeout kill those groups (workers included) and fail. Returns [(returncode, output)].
    """
    # one thread per worker (OMP_NUM_THREADS from the root conftest.py); faulthandler on, so a
    # process sent SIGABRT on a hang writes every thread's stack first
    env = dict(os.environ, PYTHONFAULTHANDLER='1', **env_extra)
    procs = [
        subprocess.Popen(
            cmd,
            cwd=cwd,
            env=dict(env, **extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        for cmd, extra in cmds
    ]
    deadline = time.monotonic() + timeout
    results = []
    try:
        for proc in procs:
            out, _ = proc.communicate(timeout=max(1, deadline - time.monotonic()))
            results.append((proc.returncode, out))
    except subprocess.TimeoutExpired:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGABRT)  # faulthandler: the stacks of the hang
        time.sleep(5)
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        # what each process wrote before it hung: where it was waiting
        tails = []
        for i, proc in enumerate(procs):
            out = results[i][1] if i < len(results) else proc.communicate()[0]
            tails.append(f'--- process {i} (exit {proc.returncode}), last lines:\n{out[-6000:]}')
        pytest.fail(
            f'distributed run did not finish in {timeout}s (hang): {cmds}\n' + '\n'.join(tails)
        )
    return results


def assert_clean(returncode, out):
    assert returncode == 0, out[-5000:]
    for failure in TEARDOWN_FAILURES:
        assert failure not in out, f'{failure!r} in output:\n{out[-5000:]}'


def parlai(*args):
    return [sys.executable, '-m', 'parlai'] + [str(a) for a in args]


def train_args(model_file, port):
    return [
        '-o', 'prosocial/tiny_generator',
        '-t', 'prosocial:rot_response',
        '-mf', model_file,
        '--distributed-world-size', WORLD,
        '--num-epochs', EPOCHS,
        '--validation-every-n-epochs', 2,
        '--port', port,
        '--verbose',  # every rank logs, with a "rank:  N |" prefix
    ]


def final_total_exs(out):
    """
    ``total_exs`` of the last training log entry (the examples of all workers together).
    """
    logs = re.findall(r'total_exs:(\d+) ', out)
    assert logs, out[-3000:]
    return int(logs[-1])


def check_both_workers_trained(out, model_file, cwd, env, global_batch=False):
    for rank in range(WORLD):
        prefix = f'rank:{rank:3d} |'
        assert f'{prefix} ' in out and re.search(
            re.escape(prefix) + r'.*Distributed group initialized \(gloo, CPU\)', out
        ), f'rank {rank} did not join:\n{out[-3000:]}'
        assert re.search(re.escape(prefix) + r'.*num_epochs completed:%s' % float(EPOCHS), out)
        assert re.search(re.escape(prefix) + r'.*running eval: test', out)

    # the data was seen EPOCHS times in all, split between the workers
    total_exs = final_total_exs(out)
    assert total_exs == EPOCHS * TURNS['train']
    stats = json.load(open(model_file + '.trainstats'))
    assert stats['total_epochs'] == EPOCHS  # summed over the workers by ParlAI
    updates = stats['train_reports'][-1]['total_train_updates']
    if global_batch:
        # --global-batchsize BATCHSIZE: BATCHSIZE / WORLD per worker, so a step takes BATCHSIZE
        # examples, as in one process: the same number of steps sees the same examples
        assert total_exs == updates * BATCHSIZE
        assert f'--batchsize {BATCHSIZE // WORLD} per worker' in out
    else:
        # ParlAI's per-worker --batchsize: each update of one worker takes at most BATCHSIZE
        # examples, so one worker alone could not have seen them all
        assert updates * BATCHSIZE < total_exs <= updates * BATCHSIZE * WORLD
    # evaluation is sharded (example i goes to rank i % WORLD) and the counts summed once
    assert stats['valid_reports'][-1]['exs'] == TURNS['valid']
    assert stats['final_valid_report']['exs'] == TURNS['valid']
    assert stats['final_test_report']['exs'] == TURNS['test']

    # rank 0 saved a plain (not DistributedDataParallel) model that evaluates on its own
    for suffix in ('', '.dict', '.opt'):
        assert os.path.isfile(model_file + suffix), suffix
    report = os.path.join(cwd, 'eval_report.json')
    [(returncode, eval_out)] = run(
        [(parlai('eval_model', '-mf', model_file, '-t', 'prosocial:rot_response',
                 '--datatype', 'test', '--metrics', 'ppl,f1', '--report-filename', report), {})],
        cwd,
        env,
    )
    assert returncode == 0, eval_out[-3000:]
    metrics = json.load(open(report))['report']
    assert metrics['exs'] == TURNS['test'] and metrics['ppl'] > 1


# --- end to end ----------------------------------------------------------------------------------


def test_multiprocessing_train_on_cpu(tmp_path, sample_data_dir):
    # with a global batch (as the paper presets set); the SLURM run below keeps ParlAI's meaning
    model_file = str(tmp_path / 'model')
    env = {'PROSOCIAL_DATA_DIR': sample_data_dir}
    args = train_args(model_file, free_port()) + ['--global-batchsize', BATCHSIZE]
    started = time.monotonic()
    [(returncode, out)] = run(
        [(parlai('multiprocessing_train', *args), {})],
        str(tmp_path),
        env,
    )
    print(f'multiprocessing_train, {WORLD} CPU workers: {time.monotonic() - started:.1f}s')
    assert_clean(returncode, out)
    # the dictionary was built once, by the parent, before any worker started
    assert out.count('dictionary built with') == 1
    assert out.index('dictionary built with') < out.index('Distributed group initialized')
    check_both_workers_trained(out, model_file, str(tmp_path), env, global_batch=True)

    # one process, as many steps: as many examples (ParlAI's total_epochs: examples / data size)
    from parlai_prosocial import testing

    steps = json.load(open(model_file + '.trainstats'))['train_steps']
    single = tmp_path / 'single'
    single.mkdir()
    args = ['train_model', '-o', 'prosocial/tiny_generator', '-t', 'prosocial:rot_response',
            '-mf', single / 'model', '--global-batchsize', BATCHSIZE, '--max-train-steps', steps,
            '--validation-every-n-epochs', -1]
    testing.parlai_in_process(args, cwd=str(single), env_extra=env)
    for stats_file in (model_file, single / 'model'):
        stats = json.load(open(f'{stats_file}.trainstats'))
        assert (stats['train_steps'], stats['total_epochs']) == (steps, EPOCHS), stats_file

    # resumed with its training statistics cut: one line, from the workers as from one process
    # (ParlAI resumes from the .checkpoint and its statistics when there is one)
    stats = model_file + ('.checkpoint' if os.path.isfile(model_file + '.checkpoint') else '')
    with open(stats + '.trainstats', encoding='utf-8') as f:
        text = f.read()
    with open(stats + '.trainstats', 'w', encoding='utf-8') as f:
        f.write(text[: len(text) // 2])
    resumed = train_args(model_file, free_port()) + ['--global-batchsize', BATCHSIZE]
    [(returncode, out)] = run([(parlai('multiprocessing_train', *resumed), {})], str(tmp_path),
                              env)
    line = f'ModelFileError: {stats}.trainstats: the training statistics of {model_file}'
    assert returncode != 0 and line in out and 'Traceback' not in out, out[-3000:]


def test_distributed_train_under_slurm_on_cpu(tmp_path, sample_data_dir):
    # SLURM faked for one host: its environment variables and an `scontrol` that names it
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'scontrol').write_text('#!/bin/sh\necho localhost\n')
    (bin_dir / 'scontrol').chmod(0o755)
    model_file = str(tmp_path / 'model')
    env = {'PROSOCIAL_DATA_DIR': sample_data_dir}
    # SLURM starts every worker itself, so the dictionary is built beforehand, as ParlAI says
    [(returncode, out)] = run(
        [(parlai('build_dict', '-t', 'prosocial:rot_response', '--dict-file',
                 model_file + '.dict', '--dict-tokenizer', 're', '--dict-lower', 'true'), {})],
        str(tmp_path),
        env,
    )
    assert returncode == 0, out[-3000:]
    port = free_port()
    slurm = {
        'PATH': f'{bin_dir}{os.pathsep}{os.environ["PATH"]}',
        'SLURM_JOB_NODELIST': 'localhost',
    }
    # `distributed_train` is not registered as a `parlai` command: SLURM runs the module
    cmd = [sys.executable, '-u', '-m', 'parlai.scripts.distributed_train']
    cmd += [str(a) for a in train_args(model_file, port)]
    started = time.monotonic()
    results = run(
        [
            (cmd, dict(slurm, SLURM_PROCID=str(rank), SLURM_LOCALID=str(rank)))
            for rank in range(WORLD)
        ],
        str(tmp_path),
        env,
    )
    print(f'distributed_train, {WORLD} CPU workers: {time.monotonic() - started:.1f}s')
    for returncode, out in results:
        assert_clean(returncode, out)
    check_both_workers_trained(''.join(out for _, out in results), model_file, str(tmp_path), env)


# --- each fix alone --------------------------------------------------------------------------------

WORKERS_SCRIPT = textwrap.dedent(
    '''
    import json, sys
    import torch
    import torch.multiprocessing as mp
    import parlai.utils.distributed as du

    def worker(rank, port, out_dir):
        # gpu=rank: what SLURM passes (its local id); there is no such GPU here
        opt = {'distributed_world_size': 2, 'task': 'prosocial'}  # a run of ours
        init = f'tcp://127.0.0.1:{port}'
        with du.distributed_context(rank, opt, gpu=rank, init_method=init) as wopt:
            model = torch.nn.Linear(3, 2)
            with torch.no_grad():
                for p in model.parameters():
                    p.fill_(rank + 1.0)  # different on each worker until synced
            synced = du.sync_parameters(model)
            weight = model.weight.sum().item()
            # as ParlAI's agents wrap the model: device_ids=[opt['gpu']]
            ddp = torch.nn.parallel.DistributedDataParallel(
                model, device_ids=[wopt['gpu']], broadcast_buffers=False
            )
            ddp(torch.full((1, 3), rank + 1.0)).sum().backward()
            result = dict(
                rank=wopt['rank'],
                gpu=wopt['gpu'],
                override_gpu=wopt['override']['gpu'],
                backend=torch.distributed.get_backend(),
                gathered=du.all_gather_list({'rank': rank, 'big': 'x' * 1000 * rank}),
                synced_object=du.sync_object(f'from rank {rank}'),
                synced=synced,
                weight=weight,
                grads=du.all_gather_list(model.weight.grad.tolist()),
            )
        result['destroyed'] = not torch.distributed.is_initialized()
        result['ddp_restored'] = (
            torch.nn.parallel.DistributedDataParallel
            is torch.nn.parallel.distributed.DistributedDataParallel
        )
        with open(f'{out_dir}/{rank}.json', 'w') as f:
            json.dump(result, f)

    if __name__ == '__main__':
        mp.spawn(worker, (int(sys.argv[1]), sys.argv[2]), nprocs=2)
    '''
)


def test_two_cpu_workers_sync_gather_and_wrap_ddp(tmp_path):
    script = tmp_path / 'workers.py'
    script.write_text(WORKERS_SCRIPT)
    [(returncode, out)] = run(
        [([sys.executable, str(script), str(free_port()), str(tmp_path)], {})], str(tmp_path), {}
    )
    assert_clean(returncode, out)
    results = [json.load(open(tmp_path / f'{rank}.json')) for rank in range(2)]
    for rank, result in enumerate(results):
        assert result['rank'] == rank
        assert result['gpu'] == result['override_gpu'] == -1
        assert result['backend'] == 'gloo'
        assert result['gathered'] == [{'rank': 0, 'big': ''}, {'rank': 1, 'big': 'x' * 1000}]
        assert result['synced_object'] == 'from rank 0'
        assert result['synced'] is True
        assert result['weight'] == 6.0  # rank 0's 2x3 ones
        assert result['destroyed'] and result['ddp_restored']
    # DDP averaged the gradients of the two different inputs: the same on both workers
    assert results[0]['grads'] == results[1]['grads']
    assert results[0]['grads'][0] == results[0]['grads'][1]


EXIT_ORDER_SCRIPT = textwrap.dedent(
    '''
    import sys, time
    import parlai.utils.distributed as du

    rank, port, linger = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    init = f'tcp://127.0.0.1:{port}'
    with du.distributed_context(rank, {'distributed_world_size': 2, 'task': 'prosocial'},
                                init_method=init):
        pass
    time.sleep(linger)  # a worker still tearing its model down after the group is gone
    '''
)


def test_rank_zero_exits_after_the_other_workers(tmp_path):
    # two independent processes, as SLURM starts them: rank 1 lingers 5 s after the context;
    # rank 0, done at once, must still wait for it (it hosts the store and the peer sockets).
    # Rank 1 counts itself out as it exits, so either may then finish its interpreter's teardown
    # first: 2 s of the 5 are left for that; without the fix rank 0 ends about 5 s earlier
    script = tmp_path / 'exit_order.py'
    script.write_text(EXIT_ORDER_SCRIPT)
    port = free_port()
    procs = [
        subprocess.Popen([sys.executable, str(script), str(rank), str(port), linger])
        for rank, linger in ((0, '0'), (1, '5'))
    ]
    ended = {}
    deadline = time.monotonic() + TIMEOUT
    while len(ended) < 2 and time.monotonic() < deadline:
        for rank, proc in enumerate(procs):
            if rank not in ended and proc.poll() is not None:
                ended[rank] = (time.monotonic(), proc.returncode)
        time.sleep(0.02)
    for proc in procs:
        proc.kill()
    assert [ended[rank][1] for rank in (0, 1)] == [0, 0], ended
    assert ended[0][0] >= ended[1][0] - 2.0


def test_a_process_forked_after_a_cpu_run_exits():
    # this process holds its CPU workers' gloo groups until it exits (HELD_PROCESS_GROUPS). A
    # child it forks (a test's, a user's) clears multiprocessing's exit functions as it starts:
    # when they held the last handle on a group, the child destroyed its copy of the group,
    # whose gloo threads exist only in the parent, and hung in ~ProcessGroupGloo before running
    # anything. The child here only prints; it ends at once unless it hangs
    import multiprocessing

    opt = dict(OURS, distributed_world_size=1, no_cuda=True)
    init = f'tcp://127.0.0.1:{free_port()}'
    with distributed_utils.distributed_context(0, opt, init_method=init):
        pass
    child = multiprocessing.get_context('fork').Process(target=print, args=('forked',))
    child.start()
    child.join(60)  # generous for a loaded machine; a hang is for ever
    if child.exitcode is None:
        child.kill()
        child.join()
        pytest.fail('the forked child hung (in the gloo group it inherited)')
    assert child.exitcode == 0


def test_device_count_zero_gives_a_cpu_worker(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 0)
    opt = dict(OURS, distributed_world_size=1)
    init = f'tcp://127.0.0.1:{free_port()}'
    with distributed_utils.distributed_context(0, opt, init_method=init) as worker_opt:
        assert worker_opt['gpu'] == -1 and worker_opt['override']['gpu'] == -1
        assert torch.distributed.get_backend() == 'gloo'
        assert distributed_utils.all_gather_list('only') == ['only']
        assert distributed_utils.sync_object(7) == 7
        assert distributed_utils.sync_parameters(torch.nn.Linear(2, 2))
    assert not torch.distributed.is_initialized()
    assert 'gpu' not in opt  # the caller's opt is untouched, as in ParlAI


def test_no_cuda_takes_the_cpu_path_even_with_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 8)
    opt = dict(OURS, distributed_world_size=1, no_cuda=True)
    init = f'tcp://127.0.0.1:{free_port()}'
    with distributed_utils.distributed_context(0, opt, init_method=init) as worker_opt:
        assert worker_opt['gpu'] == -1
        assert torch.distributed.get_backend() == 'gloo'
    assert not torch.distributed.is_initialized()


@pytest.mark.parametrize('cuda', [True, False], ids=['with CUDA', 'a run not ours'])
def test_parlais_own_context_runs_with_gpus_or_for_a_run_not_ours(monkeypatch, cuda):
    # CUDA claimed but no devices, or a run that names nothing of ours: ParlAI's own code runs,
    # and divides by the device count
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: cuda)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 0)
    opt = dict(OURS if cuda else {'task': 'integration_tests'}, distributed_world_size=1)
    with pytest.raises(ZeroDivisionError):
        with distributed_utils.distributed_context(0, opt):
            pass
    assert not torch.distributed.is_initialized()


def test_cpu_only_decision(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert cpu_only({}) and cpu_only({'no_cuda': False})
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert not cpu_only({}) and not cpu_only({'no_cuda': False})
    assert cpu_only({'no_cuda': True})


def test_all_gather_list_outside_a_group_is_parlais():
    assert not torch.distributed.is_initialized()
    assert distributed_utils.all_gather_list({'a': 1}) == [{'a': 1}]
    assert distributed_utils.sync_object('x') == 'x'


@pytest.mark.parametrize('cls', [fsdp_utils.JoinableTrainLoop, fsdp_utils.JoinableEvaluator])
def test_join_device_is_the_cpu_on_gloo(cls):
    # the property alone, on a stand-in: building a real train loop needs a task and a model
    name = cls.__name__
    loop = object.__new__(cls)
    setattr(loop, f'_{name}__device', -1)
    setattr(loop, f'_{name}__group', None)
    assert loop.join_device == -1  # no group: ParlAI's value
    opt = dict(OURS, distributed_world_size=1)
    init = f'tcp://127.0.0.1:{free_port()}'
    with distributed_utils.distributed_context(0, opt, init_method=init):
        setattr(loop, f'_{name}__group', distributed_utils.get_dist_group())
        assert loop.join_device == torch.device('cpu')
        torch.zeros(1, device=loop.join_device)  # what torch's Join does with it
        setattr(loop, f'_{name}__device', 3)
        assert loop.join_device == 3  # a real GPU index is left alone


def _train_opt(model_file, *extra):
    return mp_train_setup_args().parse_args(
        ['-o', 'prosocial/tiny_generator', '-t', 'prosocial:rot_response', '-mf', model_file]
        + list(extra)
    )


def test_dictionary_is_built_once_for_the_workers(tmp_path, sample_data_dir, monkeypatch):
    monkeypatch.setenv('PROSOCIAL_DATA_DIR', sample_data_dir)
    model_file = str(tmp_path / 'model')
    opt = _train_opt(model_file, '--distributed-world-size', '2')
    build_dict_for_workers(opt)
    assert os.path.isfile(model_file + '.dict')
    assert opt['dict_file'] is None  # as given: TrainLoop fills it in the same way
    words = open(model_file + '.dict').read()
    assert 'emergency' in words  # from the sample's train split
    mtime = os.path.getmtime(model_file + '.dict')
    build_dict_for_workers(opt)  # already built: left alone
    assert os.path.getmtime(model_file + '.dict') == mtime


def test_cpu_launch_needs_a_world_size(tmp_path, sample_data_dir, monkeypatch):
    # ParlAI's default --distributed-world-size is torch.cuda.device_count(): 0 without GPUs
    monkeypatch.setenv('PROSOCIAL_DATA_DIR', sample_data_dir)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    from parlai.scripts import multiprocessing_train

    opt = _train_opt(str(tmp_path / 'model'), '--distributed-world-size', '0')
    from parlai_prosocial.errors import ProsocialOptionError

    with pytest.raises(ProsocialOptionError, match='--distributed-world-size'):
        multiprocessing_train.launch_and_train(opt)
    assert not os.path.exists(str(tmp_path / 'model.dict'))


def test_multiprocessing_train_streams_soda_with_each_example_evaluated_once(tmp_path):
    """
    The streaming SODA teacher (a ChunkTeacher) under 2 CPU workers: training runs, and the
    sharded valid/test passes count every utterance exactly once (none repeated, none lost).
    """
    from parlai_prosocial.samples import write_sample
    from parlai_prosocial.tasks.soda.data import SPLIT_FILES
    from parlai_prosocial.testing.samples import split_files

    utterances = {
        split: sum(len(row['dialogue']) for row in rows)
        for split, rows in split_files('soda', SPLIT_FILES).items()
    }
    model_file = str(tmp_path / 'model')
    env = {
        'SODA_DATA_DIR': write_sample('soda', tmp_path / 'soda'),
        'SODA_CACHE_DIR': str(tmp_path / 'soda_cache'),
    }
    args = train_args(model_file, free_port())
    args[args.index('prosocial:rot_response')] = 'soda'
    [(returncode, out)] = run([(parlai('multiprocessing_train', *args), {})], str(tmp_path), env)
    assert_clean(returncode, out)
    assert final_total_exs(out) >= EPOCHS * utterances['train']
    stats = json.load(open(model_file + '.trainstats'))
    assert stats['final_valid_report']['exs'] == utterances['valid']
    assert stats['final_test_report']['exs'] == utterances['test']


# --- the global batch (``global_batch``) alone -------------------------------------------------


@pytest.mark.parametrize('script', ['train_model', 'multiprocessing_train', 'distributed_train'])
def test_every_training_script_has_the_global_batch_option_off_by_default(script):
    import importlib

    module = importlib.import_module(f'parlai.scripts.{script}')
    opt = module.setup_args().parse_args(['-t', 'prosocial:rot_response', '-m', 'repeat_label'])
    assert opt['global_batchsize'] == -1  # ParlAI's per-worker --batchsize, as without the plugin


def _batch_opt(**options):
    from parlai.core.opt import Opt

    return Opt(dict(options, override=dict(options)))


@pytest.mark.parametrize(
    'options, world, batchsize',
    [
        (dict(batchsize=32, global_batchsize=32), 4, 8),  # a paper preset on 4 workers
        (dict(batchsize=32, global_batchsize=32), 1, 32),  # train_model: as before
        (dict(batchsize=8, global_batchsize=32), 4, 8),  # --batchsize given apart: ParlAI's
        (dict(batchsize=32, global_batchsize=-1), 4, 32),  # off: ParlAI's per-worker meaning
        (dict(batchsize=32), 4, 32),  # an opt from before the option
    ],
)
def test_per_worker_batchsize(options, world, batchsize):
    opt = _batch_opt(**options)
    worker_opt = per_worker_batchsize(opt, world)
    assert worker_opt['batchsize'] == batchsize
    if batchsize != options['batchsize']:
        # also for an agent that takes its options from an existing model file (resuming)
        assert worker_opt['override']['batchsize'] == batchsize
        assert opt['batchsize'] == options['batchsize']  # the caller's opt is untouched


def test_a_global_batch_the_workers_cannot_share_is_refused_in_one_line():
    from parlai_prosocial.errors import ProsocialOptionError

    with pytest.raises(ProsocialOptionError, match='--global-batchsize 24 cannot be shared evenly '
                       'by 5 workers') as error:
        per_worker_batchsize(_batch_opt(batchsize=24, global_batchsize=24), 5)
    assert '\n' not in str(error.value)
