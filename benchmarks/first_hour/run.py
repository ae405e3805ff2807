#!/usr/bin/env python
"""
The README's by-hand tiny Prost against the quickstart's (issue 28): the same preset, the same
machine, wall clock.

    python benchmarks/first_hour/run.py --repeats 3 [--results benchmarks/first_hour/results.json]

Each run is ``parlai train_model -o prosocial/tiny_prost -mf ...`` in a new process, with the
environment that the offline data line exports (``eval "$(python -m parlai_prosocial.offline_data
DIR)"``, written once into ``--work``; its ``export`` lines are read as the shell reads them), in
three ways:

* **quickstart**: as ``scripts/quickstart.sh`` runs it: ``OMP_NUM_THREADS=1`` (the quickstart
  always set it), its output to a log file;
* **by hand**: the README's command, ``--loglevel report``, in a shell where the user set no
  ``OMP_NUM_THREADS``: what the offline line exports is all there is;
* **by hand, before**: the same without the offline line's thread count (what a user got before
  the line exported it: torch's default, one thread per core).

The three alternate in a rotating order within each repeat, so load on the (shared) machine falls
on all of them; median (min–max) of ``--repeats`` runs, and the load average before each.
**Target: by hand at most 2x the quickstart's time.**
"""

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time

from parlai_prosocial import results

TARGET = 2.0
THREADS = 'OMP_NUM_THREADS'
WAYS = ['quickstart', 'by hand', 'by hand, before']


def offline_exports(directory, env):
    """
    The variables ``eval "$(python -m parlai_prosocial.offline_data DIRECTORY)"`` sets.
    """
    printed = subprocess.run(
        [sys.executable, '-m', 'parlai_prosocial.offline_data', directory],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    exports = {}
    for line in printed.splitlines():
        name, _, value = shlex.split(line[len('export '):], comments=True)[0].partition('=')
        exports[name] = value
    return exports


def command(way, model_file):
    args = ['-m', 'parlai', 'train_model', '-o', 'prosocial/tiny_prost', '-mf', model_file]
    return [sys.executable] + args + (['--loglevel', 'report'] if way != 'quickstart' else [])


def environment(way, user_env, exports):
    env = dict(user_env, **exports)
    if way == 'quickstart':
        env[THREADS] = '1'
    elif way == 'by hand, before':
        env.pop(THREADS, None)
    return env


def timed(way, work, n, user_env, exports):
    model_dir = os.path.join(work, f'{way.replace(" ", "_").replace(",", "")}_{n}')
    with open(model_dir + '.log', 'w', encoding='utf-8') as log:
        load = os.getloadavg()[0]
        start = time.perf_counter()
        subprocess.run(command(way, os.path.join(model_dir, 'model')), stdout=log,
                       stderr=subprocess.STDOUT, env=environment(way, user_env, exports),
                       cwd=work, check=True)
        return time.perf_counter() - start, load


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work', default=None,
                        help='scratch folder (default: a new temporary one)')
    parser.add_argument('--repeats', type=int, default=3)
    results.add_output_arguments(parser, 'only a scratch copy')
    args = parser.parse_args()
    results.check_output(parser, args.results, args.overwrite)

    work = os.path.abspath(args.work or tempfile.mkdtemp(prefix='first_hour_'))
    user_env = {k: v for k, v in os.environ.items() if k != THREADS}  # a shell that set none
    exports = offline_exports(os.path.join(work, 'offline'), user_env)
    seconds = {way: [] for way in WAYS}
    loads = {way: [] for way in WAYS}
    for n in range(args.repeats):
        for way in WAYS[n % 3:] + WAYS[: n % 3]:
            took, load = timed(way, work, n, user_env, exports)
            seconds[way].append(took)
            loads[way].append(load)
            print(f'{way}: {took:.1f} s (load average {load:.1f})', flush=True)

    ratios = {way: [s / q for s, q in zip(seconds[way], seconds['quickstart'])]
              for way in WAYS[1:]}
    rows = [[way, results.spread(seconds[way]), results.spread(loads[way])] for way in WAYS]
    rows += [[f'{way} / quickstart' + (f' (target <= {TARGET:g})' if way == 'by hand' else ''),
              results.spread(ratios[way]), ''] for way in WAYS[1:]]
    table = results.table(['parlai train_model -o prosocial/tiny_prost',
                           'seconds, or ratio (median (min–max))', 'load average before'],
                          rows, [None, '.2f', '.1f'])
    numbers = dict(seconds=seconds, load_averages=loads, ratios=ratios, target=TARGET,
                   met=max(ratios['by hand']) <= TARGET, exported_threads=exports.get(THREADS),
                   cpus=os.cpu_count())
    commands = [shlex.join(['python', os.path.relpath(__file__, results.REPO)] + sys.argv[1:]),
                'eval "$(python -m parlai_prosocial.offline_data WORK/offline)"']
    commands += [shlex.join(['parlai'] + command(way, 'MODEL')[3:]) for way in WAYS]
    written = results.write(os.path.join(work, 'results.json'), 'first_hour_benchmark', __file__,
                            commands, numbers, {'time': table}, seeds=[0])
    results.publish(written, args.results)
    print(f'by hand / quickstart: {", ".join(f"{r:.2f}" for r in ratios["by hand"])} '
          f'(target <= {TARGET:g})')
    return written


if __name__ == '__main__':
    main()
