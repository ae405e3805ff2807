#!/usr/bin/env python
"""
Every worker count ends, and trains the one-worker model (issue 25).

    python benchmarks/workers/run.py --out OUT [--results benchmarks/workers/results.json]

``-o prosocial/tiny_prost`` (Prost on its 9:3:3:3:3:3:1 mixture, global batch 4, dropout off, the
offline data of ``parlai_prosocial.offline_data``) trained for ``--steps`` steps with the final
validation and test, ``--repeats`` times in a row on each worker count of ``--workers`` (CPU,
gloo): ``parlai train_model`` for one worker, ``parlai multiprocessing_train
--distributed-world-size N`` otherwise, each run a new process with a deadline (``--timeout``).
A run that is still going at its deadline is a hang: it is killed (after gdb's stacks of its
processes are saved, when gdb is there) and counted. For every run: whether it ended by itself
with exit status 0, its wall time, the examples trained on and the validation's example count
(each example once whatever N), and the largest difference of its weights from the first
one-worker run's (the attention key biases apart: their exact gradient is 0, and Adam turns
their rounding noise into steps of about a tenth of the learning rate).
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def train_command(model_file, workers, steps):
    script = ['train_model'] if workers == 1 else [
        'multiprocessing_train', '--distributed-world-size', str(workers)]
    return script + ['-o', 'prosocial/tiny_prost', '-mf', model_file, '--max-train-steps',
                     str(steps), '--num-epochs', '-1', '--validation-every-n-epochs', '-1',
                     '--skip-generation', 'true']


def _group_of(pid):
    listing = subprocess.run(['ps', '-eo', 'pid=,pgid='], capture_output=True, text=True).stdout
    return [line.split()[0] for line in listing.splitlines() if line.split()[1] == str(pid)]


def _stacks(pid, path):
    """
    gdb's stacks of every thread of every process of the run's group, into ``path``.
    """
    if not shutil.which('gdb'):
        return
    with open(path, 'w', encoding='utf-8') as f:
        for member in _group_of(pid):
            f.write(f'==== process {member}\n')
            done = subprocess.run(['gdb', '-p', member, '-batch', '-ex', 'thread apply all bt 30'],
                                  capture_output=True, text=True, timeout=120)
            f.write(done.stdout + done.stderr)


def run_once(command, env, log_path, timeout):
    """
    ``parlai COMMAND`` in a new process group; (ended by itself, exit status, seconds).
    """
    started = time.monotonic()
    with open(log_path, 'w', encoding='utf-8') as log:
        process = subprocess.Popen([sys.executable, '-m', 'parlai'] + command, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            status = process.wait(timeout=timeout)
            return True, status, time.monotonic() - started
        except subprocess.TimeoutExpired:
            _stacks(process.pid, log_path + '.stacks')
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return False, None, time.monotonic() - started


def weights_apart(first, other):
    """
    (largest difference of the key biases apart, largest difference of the key biases).
    """
    import torch

    a = torch.load(first, map_location='cpu')['model']
    b = torch.load(other, map_location='cpu')['model']
    rest, keys = 0.0, 0.0
    for name in a:
        difference = (a[name].float() - b[name].float()).abs().max().item()
        if name.endswith('k_lin.bias'):
            keys = max(keys, difference)
        else:
            rest = max(rest, difference)
    return rest, keys


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='/tmp/workers')
    parser.add_argument('--workers', default='1,2,4')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--steps', type=int, default=8)
    parser.add_argument('--timeout', type=float, default=600.0,
                        help='seconds after which a run counts as hung (a run takes under 2 min)')
    from parlai_prosocial import results as results_file

    results_file.add_output_arguments(parser, 'only OUT/results.json')
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    results_file.check_output(parser, args.results, args.overwrite,
                              os.path.join(out, 'results.json'))
    from parlai_prosocial.offline_data import write_offline_data

    os.makedirs(out, exist_ok=True)
    offline = os.path.join(out, 'offline')
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONFAULTHANDLER='1')
    env.update(write_offline_data(offline, overwrite=True))
    runs, first = [], None
    for workers in [int(n) for n in args.workers.split(',')]:
        for repeat in range(args.repeats):
            folder = os.path.join(out, f'workers{workers}_run{repeat}')
            shutil.rmtree(folder, ignore_errors=True)
            os.makedirs(folder)
            model_file = os.path.join(folder, 'model')
            ended, status, seconds = run_once(train_command(model_file, workers, args.steps),
                                              env, model_file + '.log', args.timeout)
            run = {'workers': workers, 'repeat': repeat, 'ended': ended, 'status': status,
                   'seconds': seconds, 'load_average_at_end': list(os.getloadavg())}
            if ended and status == 0:
                with open(model_file + '.trainstats', encoding='utf-8') as f:
                    stats = json.load(f)
                run.update(train_steps=stats['train_steps'], total_epochs=stats['total_epochs'],
                           valid_exs=stats['final_valid_report']['exs'],
                           test_exs=stats['final_test_report']['exs'])
                first = first or model_file
                run['weights'], run['key_biases'] = weights_apart(first, model_file)
            runs.append(run)
            print(json.dumps(run), flush=True)

    rows = []
    for workers in sorted({r['workers'] for r in runs}):
        mine = [r for r in runs if r['workers'] == workers]
        good = [r for r in mine if r['ended'] and r['status'] == 0]
        rows.append([
            str(workers), f'{len(good)} of {len(mine)}',
            ', '.join(sorted({f'{r["total_epochs"]:.4f}' for r in good})) or '-',
            results_file.spread([r['seconds'] for r in good]) if good else '-',
            ', '.join(sorted({str(r['valid_exs']) for r in good})) or '-',
            ', '.join(sorted({str(r['test_exs']) for r in good})) or '-',
            max((r['weights'] for r in good), default=float('nan')),
            max((r['key_biases'] for r in good), default=float('nan')),
        ])
    tables = {'runs': results_file.table(
        ['workers', 'ended by themselves, exit 0', 'epochs trained', 'seconds per run',
         'valid examples',
         'test examples', 'weights: largest difference from 1 worker',
         'attention key biases: largest difference'],
        rows, formats=[None, None, None, '.0f', None, None, '.1e', '.1e'], align='lrrrrrrr')}
    written = results_file.write(
        os.path.join(out, 'results.json'), name='workers', script=__file__,
        commands=['parlai ' + ' '.join(train_command('OUT/RUN/model', n, args.steps))
                  for n in sorted({r['workers'] for r in runs})],
        numbers={'runs': runs, 'steps': args.steps, 'timeout_seconds': args.timeout,
                 'median_seconds': {str(n): statistics.median(
                     [r['seconds'] for r in runs if r['workers'] == n]) for n in
                     sorted({r['workers'] for r in runs})}},
        tables=tables, seeds=[0],
    )
    results_file.publish(written, args.results)
    if any(not (r['ended'] and r['status'] == 0) for r in runs):
        sys.exit(1)


if __name__ == '__main__':
    main()
