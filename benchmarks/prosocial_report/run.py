#!/usr/bin/env python
"""
What the prosocial report costs against the separate ``parlai eval_model`` runs it replaces.

    python benchmarks/prosocial_report/run.py [--work /tmp/report_benchmark] [--num-examples 100] \
        [--repeats 2] [--results benchmarks/prosocial_report/results.json]

The models are built as the example report's (``projects/prosocial_dialog/report_example``: a
tiny RoT & Response generator, a tiny Canary in front of it, tiny ToxiChat classifiers; the
bundled ProsocialDialog sample), but on the real ToxiChat threads of ``../shared/data/toxichat``
(the classifiers trained on its training threads, the report on its test threads), into
``--work`` if not there. Each
repeat runs, as a user would, each in its own process and timed by the wall clock:

* the report: ``python -m parlai_prosocial.report ... -ne N`` (all four passes, charts, report.md);
* the four ``parlai eval_model`` commands the report records as its passes (its results file's
  ``commands``), one after the other, each with ``--report-filename`` so their numbers can be
  checked against the report's.

Which of the two goes first alternates between repeats. The target (issue 20): the report takes
at most 1.1 times the sum of the separate runs.
"""

import argparse
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

from parlai_prosocial import results

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(results.REPO, 'projects', 'prosocial_dialog', 'report_example',
                       'reproduce.py')
TOXICHAT = os.path.normpath(os.path.join(results.REPO, '..', 'shared', 'data', 'toxichat'))
TARGET = 1.1
TIMED = ('exps', 'ctps', 'ltps', 'tps', 'gen_tps')


def example_module():
    spec = importlib.util.spec_from_file_location('_report_example', EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed(command, env):
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=results.REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f'failed ({done.returncode}): {shlex.join(command)}\n{done.stderr[-3000:]}')
    return seconds


def inner(which, spec_file):
    """
    ``--inner``: in a fresh process, everything imported first, then the clock: the report, or
    the eval_model commands one after the other; prints the seconds.
    """
    with open(spec_file, encoding='utf-8') as f:
        spec = json.load(f)
    from parlai.core.script import superscript_main
    from parlai.utils import logging

    from parlai_prosocial.report.script import ProsocialReport

    logging.set_log_level('WARN')
    start = time.perf_counter()
    if which == 'report':
        ProsocialReport.main(spec['report'])
    else:
        for eval_args in spec['passes']:
            superscript_main(eval_args)
    print(json.dumps({'seconds': time.perf_counter() - start}))


def timed_inside(which, spec_file, env):
    command = [sys.executable, os.path.abspath(__file__), '--inner', which, spec_file]
    done = subprocess.run(command, env=env, cwd=results.REPO, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f'failed ({done.returncode}): {shlex.join(command)}\n{done.stderr[-3000:]}')
    return json.loads(done.stdout.strip().splitlines()[-1])['seconds']


def main():
    if sys.argv[1:2] == ['--inner']:
        return inner(*sys.argv[2:4])
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work', default='/tmp/report_benchmark',
                        help='the tiny models (built there if absent)')
    parser.add_argument('--num-examples', type=int, default=100, help='-ne of every pass')
    parser.add_argument('--repeats', type=int, default=2)
    results.add_output_arguments(parser, 'only a scratch copy')
    args = parser.parse_args()
    results.check_output(parser, args.results, args.overwrite)

    if not os.path.isdir(TOXICHAT):
        sys.exit(f'{TOXICHAT} is not here (../shared/data)')
    example = example_module()
    built = example.build_models(os.path.abspath(args.work), TOXICHAT)
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'))
    scratch = tempfile.mkdtemp(prefix='report_bench_')
    report_dir = os.path.join(scratch, 'report')
    # --overwrite: every repeat writes the same scratch folder
    report = example.report_command(built, report_dir, '-ne', str(args.num_examples),
                                    '--overwrite', '--loglevel', 'warn')

    report_seconds, separate_seconds = [], []
    pass_seconds = [[] for _ in range(4)]
    for repeat in range(args.repeats):
        # the first repeat starts with the report, whose results file gives the commands
        order = ('report', 'separate') if repeat % 2 == 0 else ('separate', 'report')
        for which in order:
            if which == 'report':
                report_seconds.append(timed(report, env))
                with open(os.path.join(report_dir, 'results.json'), encoding='utf-8') as f:
                    written = json.load(f)
                passes = [shlex.split(c)[1:] for c in written['commands'][1:]]
                continue
            total = 0
            for n, eval_args in enumerate(passes):
                saved = os.path.join(scratch, f'pass{n}.json')
                command = [sys.executable, '-m', 'parlai'] + eval_args + [
                    '--report-filename', saved]
                seconds = timed(command, env)
                pass_seconds[n].append(seconds)
                total += seconds
            separate_seconds.append(total)

    # the work alone: each side in a fresh process with its imports done before the clock starts
    spec_file = os.path.join(scratch, 'spec.json')
    with open(spec_file, 'w', encoding='utf-8') as f:
        json.dump({'report': report[3:], 'passes': passes}, f)
    inside = {'report': [], 'separate': []}
    for repeat in range(args.repeats):
        for which in (('report', 'separate') if repeat % 2 == 0 else ('separate', 'report')):
            inside[which].append(timed_inside(which, spec_file, env))

    # the separate runs' numbers are the report's
    # in the order the report records its passes
    keys = [('prosocial', 'unguarded'), ('prosocial', 'guarded'), ('toxichat', 'unguarded'),
            ('toxichat', 'guarded')]
    same = True
    for n, (dataset, side) in enumerate(keys):
        with open(os.path.join(scratch, f'pass{n}.json'), encoding='utf-8') as f:
            theirs = {k: v for k, v in json.load(f)['report'].items() if k not in TIMED}
        same = same and theirs == written['numbers'][dataset][side]['overall']

    ratios = [r / s for r, s in zip(report_seconds, separate_seconds)]
    titles = ['ProsocialDialog, unguarded', 'ProsocialDialog, guarded', 'ToxiChat, unguarded',
              'ToxiChat, guarded']
    rows = [['the report (one process, 4 passes, charts)', results.spread(report_seconds)],
            ['the 4 eval_model runs, sum', results.spread(separate_seconds)]]
    rows += [[f'  eval_model: {t}', results.spread(s)] for t, s in zip(titles, pass_seconds)]
    rows += [['report / sum (target <= 1.1)', results.spread(ratios)]]
    inside_ratios = [r / s for r, s in zip(inside['report'], inside['separate'])]
    rows += [['without process start-up and imports: the report', results.spread(inside['report'])],
             ['  the 4 eval_model runs in one process', results.spread(inside['separate'])],
             ['  report / sum', results.spread(inside_ratios)]]
    table = results.table(['wall clock', 'seconds (median (min–max))'], rows, [None, '.2f'])
    numbers = dict(report_seconds=report_seconds, separate_seconds=separate_seconds,
                   pass_seconds=dict(zip(titles, pass_seconds)), ratios=ratios,
                   target=TARGET, met=max(ratios) <= TARGET,
                   inside_seconds=inside, inside_ratios=inside_ratios,
                   examples={f'{d}/{s}': written['numbers'][d][s]['examples'] for d, s in keys},
                   numbers_equal_eval_model=same)
    commands = [shlex.join(['python', os.path.relpath(__file__, results.REPO)] + sys.argv[1:]),
                results.portable(shlex.join(['python'] + report[1:]))]
    commands += [results.portable(shlex.join(['parlai'] + p)) for p in passes]
    path = os.path.join(scratch, 'results.json')
    written_bench = results.write(path, 'prosocial_report_benchmark', __file__, commands,
                                  numbers, {'time': table}, seeds=[42])
    results.publish(written_bench, args.results)
    print(f'report / sum of the eval_model runs: {", ".join(f"{r:.3f}" for r in ratios)}; '
          f'without start-up: {", ".join(f"{r:.3f}" for r in inside_ratios)} '
          f'(target <= {TARGET}); numbers equal: {same}')
    return written_bench


if __name__ == '__main__':
    main()
