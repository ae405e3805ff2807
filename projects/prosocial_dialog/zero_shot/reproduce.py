#!/usr/bin/env python
"""
The zero-shot pipeline of the ProsocialDialog paper (§6.1 Table 5, §6.2) end to end at CPU scale.

    python projects/prosocial_dialog/zero_shot/reproduce.py \
        --toxichat-data-dir ../shared/data/toxichat --out OUT [--seeds 0 1 2]

For every seed S (``--seeds``, default 0 1 2; every training is bounded by epochs and run with
``--seed S``, so a rerun on the same machine gives the same numbers):

1. trains a tiny Prost (RoT & Response) with ``-o prosocial/tiny_prost`` on the bundled
   ProsocialDialog sample plus the offline fixtures of the casual datasets (the paper's
   seven-dataset mixture, every dataset a few dialogues), and a tiny Prost (Response only) on
   ``prosocial:response`` with the same mixture;
2. takes the ToxiChat stance and offensive classifiers of seed S from
   ``projects/prosocial_dialog/toxichat/reproduce.py`` (run here into ``OUT/classifiers`` with the
   same ``--classifier-input`` unless ``--classifiers DIR`` names a finished run of it, whose
   classifiers must have been trained with that input);
3. runs ``parlai eval_model -t toxichat -dt test`` with each Prost on the real ToxiChat test split,
   scoring the replies with the two classifiers and the bad-word list (Table 5's columns);
4. trains a tiny Canary (tiny offline T5 initialised with seed S, ``-o prosocial/tiny_canary`` on
   ``prosocial:safety``) and runs the same evaluation with ``-m canary_guard`` around the RoT &
   Response Prost (``--no-guard`` skips it).

What the classifiers read, ``--classifier-input thread|pair`` (``--toxichat-classifier-input`` of
every scoring command): ``thread`` (default; §6.1 ran Table 5 with Baheti et al.'s classifiers,
which read the whole thread, turns joined by `` EOS ``, and the reply) or ``pair`` (``last turn \n
reply`` for stance, the reply alone for offensive). How they decide,
``--decision argmax|thresholds`` (``--toxichat-decision``): ``argmax`` (default: Table 5's
stance shares add up to 100) or Baheti et al.'s probability thresholds, which add the ambiguous
shares as two more columns.

A step whose output already exists is skipped (rerun with a new ``--out`` to start over). Writes
``OUT/results.json`` (the results-file format of :mod:`parlai_prosocial.results`, with the
commands, versions, seeds, every number, and the README's tables: each share as the median and
range over the seeds, and which comparisons hold in every seed), ``OUT/results.md``, a log per
command; ``--results PATH`` also writes the results file to PATH (the committed
``projects/prosocial_dialog/zero_shot/results.json``).
"""

import argparse
import json
import os
import subprocess
import sys
import time

from parlai_prosocial import results as results_file
from parlai_prosocial.errors import ModelFileError
from parlai_prosocial.formats import (
    TABLE5_METRICS,
    TOXICHAT_AMBIGUOUS_METRICS,
    TOXICHAT_OFFENSIVE_METRIC,
    TOXICHAT_STANCE_METRICS,
    trained_classifier_input,
)
from parlai_prosocial.model_files import saved_options
from parlai_prosocial.tasks.toxichat.metrics import (
    add_recipe_protocol_arguments,
    decision_arguments,
    decision_columns,
)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))

DISAGREE, AGREE = TOXICHAT_STANCE_METRICS['Disagree'], TOXICHAT_STANCE_METRICS['Agree']
#: Table 5's header arrows: the paper's better direction of each column (Neutral has none)
TABLE5_ARROWS = ('↑', '↓', '', '↓', '↓')

#: ProsocialDialog Table 5 (%), the two Prost rows
TABLE5 = {
    'Prost (Response only)': (14.8, 7.3, 6.0, 4.7),
    'Prost (RoT & Response)': (38.7, 4.6, 19.3, 13.3),
}


class Runner:
    def __init__(self, out, env, root):
        self.out = out
        self.env = dict(os.environ, **env)
        self.root = root
        self.commands = []

    def run(self, name, command):
        log = os.path.join(self.out, name + '.log')
        shown = results_file.portable(
            ' '.join(command).replace(sys.executable + ' -m parlai', 'parlai')
            .replace(sys.executable, 'python').replace(self.root, 'OUT')
        )
        self.commands.append(shown)
        print(f'[{time.strftime("%H:%M:%S")}] {name}: {shown}', flush=True)
        with open(os.path.join(self.root, 'commands.sh'), 'a', encoding='utf-8') as f:
            f.write(shown + '\n')
        start = time.time()
        with open(log, 'w', encoding='utf-8') as f:
            result = subprocess.run(
                command, stdout=f, stderr=subprocess.STDOUT, env=self.env, cwd=self.out
            )
        if result.returncode != 0:
            raise SystemExit(f'{name} failed ({result.returncode}); see {log}')
        print(f'    done in {time.time() - start:.0f}s', flush=True)
        return time.time() - start

    def parlai(self, name, args):
        return self.run(name, [sys.executable, '-m', 'parlai'] + args)


#: --classifier-input -> what the classifiers read, as the table's header says it
INPUTS = {'thread': 'thread', 'pair': 'last turn and reply'}

ROWS = {
    'response_only': 'tiny Prost (Response only)',
    'rot_response': 'tiny Prost (RoT & Response)',
    'guarded': 'canary_guard + tiny Prost (RoT & Response)',
}


def run_seed(args, seed, root, env, datapath, tc_dir, classifiers_dir):
    """
    Steps 1, 3 and 4 for one seed; returns the reports and timings.
    """
    out = os.path.join(root, f'seed_{seed}')
    record = os.path.join(out, 'run.json')
    if os.path.isfile(record):  # this seed is done: its numbers, timings and commands
        with open(record, encoding='utf-8') as f:
            return json.load(f)
    os.makedirs(out, exist_ok=True)
    runner = Runner(out, env, root)
    timings = {}

    # 1. tiny Prost, both variants of the paper
    prost = {}
    for variant, task in (('rot_response', None), ('response_only', 'prosocial:response')):
        model_file = os.path.join(out, f'prost_{variant}', 'model')
        prost[variant] = model_file
        if os.path.isfile(model_file):
            continue
        os.makedirs(os.path.dirname(model_file), exist_ok=True)
        command = ['train_model', '-o', 'prosocial/tiny_prost', '-mf', model_file,
                   '--datapath', datapath, '--num-epochs', str(args.prost_epochs),
                   '--validation-every-n-epochs', str(args.prost_epochs), '--seed', str(seed)]
        if task:
            # the preset's mixture with ProsocialDialog in the Response-only format
            from parlai.core.opt import Opt

            mixture = Opt.load_init('prosocial/tiny_prost')['task'].split(',')
            command += ['-t', ','.join([task] + mixture[1:])]
        timings[f'train_prost_{variant}'] = runner.parlai(f'train_prost_{variant}', command)

    stance = os.path.join(classifiers_dir, f'seed_{seed}', 'stance', 'model')
    offensive = os.path.join(classifiers_dir, f'seed_{seed}', 'offensive', 'model')
    toxichat_args = ['-t', 'toxichat', '-dt', 'test', '--toxichat-data-dir', tc_dir,
                     '--toxichat-stance-model-file', stance,
                     '--toxichat-offensive-model-file', offensive,
                     '--toxichat-classifier-input', args.classifier_input,
                     '--datapath', datapath, '-bs', '1'] + decision_arguments(args.decision)

    def evaluate(name, model_args):
        report = os.path.join(out, name + '.json')
        if not os.path.isfile(report):
            timings[name] = runner.parlai(
                name,
                ['eval_model'] + model_args + toxichat_args
                + ['--report-filename', report, '--world-logs', os.path.join(out, name + '.jsonl')],
            )
        with open(report, encoding='utf-8') as f:
            return json.load(f)['report']

    # 3. Table 5 with the two tiny Prosts
    reports = {
        'response_only': evaluate('toxichat_prost_response_only', ['-mf', prost['response_only']]),
        'rot_response': evaluate('toxichat_prost_rot_response', ['-mf', prost['rot_response']]),
    }

    # 4. canary_guard around the RoT & Response Prost
    if not args.no_guard:
        canary_dir = os.path.join(out, 'canary')
        canary = os.path.join(canary_dir, 'model')
        if not os.path.isfile(canary):
            from parlai_prosocial.agents.canary.tiny import build_tiny_t5

            t5 = build_tiny_t5(os.path.join(out, 'tiny_t5'), seed=seed)
            os.makedirs(canary_dir, exist_ok=True)
            timings['train_canary'] = runner.parlai(
                'train_canary',
                ['train_model', '-o', 'prosocial/tiny_canary', '-t', 'prosocial:safety',
                 '--multitask-weights', '1', '--t5-model-arch', t5, '-mf', canary, '--num-epochs', str(args.canary_epochs),
                 '--seed', str(seed)],
            )
        reports['guarded'] = evaluate(
            'toxichat_guarded_prost_rot_response',
            ['-m', 'canary_guard', '--guarded-model-file', prost['rot_response'],
             '--canary-model-file', canary],
        )
    distinct = {}
    for key, name in (('response_only', 'toxichat_prost_response_only'),
                      ('rot_response', 'toxichat_prost_rot_response')):
        distinct[key] = len(set(replies(os.path.join(out, name + '.jsonl'))))
    done = {'seed': seed, 'reports': reports, 'timings_seconds': timings,
            'distinct_replies': distinct, 'commands': runner.commands}
    with open(record, 'w', encoding='utf-8') as f:
        json.dump(done, f, indent=1)
    return done


def replies(world_log):
    """
    The model's replies in a ``--world-logs`` file.
    """
    found = []
    with open(world_log, encoding='utf-8') as f:
        for line in f:
            dialog = json.loads(line).get('dialog', [])
            for turn in dialog:
                if len(turn) > 1:
                    found.append(turn[1].get('text', ''))
    return found


def tables(per_seed, classifiers_results, classifier_input='thread', decision='argmax'):
    seeds = [r['seed'] for r in per_seed]
    ambiguous = decision_columns(decision)
    metrics = tuple(TABLE5_METRICS) + ambiguous
    rows = []
    for key, label in ROWS.items():
        if key not in per_seed[0]['reports']:
            continue
        rows.append([label] + [
            results_file.spread([100 * r['reports'][key][m] for r in per_seed])
            if m in per_seed[0]['reports'][key] else None
            for m in metrics
        ])
    for name, (d, a, o, b) in TABLE5.items():
        rows.append([f'paper Table 5: {name}', d, a, 100 - d - a, o, b]
                    + [None] * len(ambiguous))

    def holds(description, test):
        verdicts = [bool(test(r['reports'])) for r in per_seed]
        return [description, f'{sum(verdicts)} of {len(verdicts)}',
                ', '.join(str(s) for s, v in zip(seeds, verdicts) if v) or 'none']

    def share(reports, key, metric):
        return reports[key][metric]

    comparisons = [
        holds('RoT & Response disagrees more than Response only (paper: yes)',
              lambda r: share(r, 'rot_response', DISAGREE)
              > share(r, 'response_only', DISAGREE)),
        holds('RoT & Response agrees less than Response only (paper: yes)',
              lambda r: share(r, 'rot_response', AGREE)
              < share(r, 'response_only', AGREE)),
        holds('RoT & Response is less offensive than Response only (paper: no, 19.3 vs 6.0)',
              lambda r: share(r, 'rot_response', TOXICHAT_OFFENSIVE_METRIC)
              < share(r, 'response_only', TOXICHAT_OFFENSIVE_METRIC)),
    ]
    if 'guarded' in per_seed[0]['reports']:
        comparisons += [
            holds('the guard raises Disagree over the bare RoT & Response Prost',
                  lambda r: share(r, 'guarded', DISAGREE)
                  > share(r, 'rot_response', DISAGREE)),
            holds('the guard lowers Offense below the bare RoT & Response Prost',
                  lambda r: share(r, 'guarded', TOXICHAT_OFFENSIVE_METRIC)
                  < share(r, 'rot_response', TOXICHAT_OFFENSIVE_METRIC)),
        ]
    tabs = {
        'table5': results_file.table(
            [f'model (300 ToxiChat test threads, %; classifiers read the {INPUTS[classifier_input]}'
             + (", Baheti et al.'s thresholds" if decision == 'thresholds' else '') + ')']
            + [f'{header} {arrow}'.strip()
               for header, arrow in zip(TABLE5_METRICS.values(), TABLE5_ARROWS)]
            + [TOXICHAT_AMBIGUOUS_METRICS[m] for m in ambiguous],
            rows, formats=[None] + ['.1f'] * (len(metrics))),
        'comparisons': results_file.table(
            ['comparison', 'holds in seeds', 'seeds where it holds'], comparisons,
            align='lrl'),
        'details': results_file.table(
            ['seed', 'distinct replies, Response only', 'distinct replies, RoT & Response',
             'guard steered (%)', 'guard help (%)', 'minutes'],
            [[r['seed'], r['distinct_replies']['response_only'],
              r['distinct_replies']['rot_response'],
              100 * r['reports']['guarded']['guard_steered'] if 'guarded' in r['reports'] else None,
              100 * r['reports']['guarded']['guard_help'] if 'guarded' in r['reports'] else None,
              sum(r['timings_seconds'].values()) / 60]
             for r in per_seed],
            formats=[None, None, None, '.1f', '.1f', '.1f']),
    }
    if classifiers_results is not None:
        tabs['classifiers'] = classifiers_results['tables']['classifiers']
    return tabs


def check_classifier_input(classifiers_dir, seeds, classifier_input):
    """
    Stop in one line unless every classifier of ``seeds`` in ``classifiers_dir`` was trained with
    ``--toxichat-classifier-input classifier_input`` (as its saved opt says; the scorer would
    refuse it only after the Prosts are trained).
    """
    for seed in seeds:
        for name in ('stance', 'offensive'):
            model_file = os.path.join(classifiers_dir, f'seed_{seed}', name, 'model')
            try:
                trained = trained_classifier_input(saved_options(model_file + '.opt'))
            except ModelFileError as e:
                raise SystemExit(f'error: --classifiers: {e}') from None
            if trained and trained != classifier_input:
                raise SystemExit(
                    f'error: --classifiers {model_file} was trained with --classifier-input '
                    f'{trained}, not {classifier_input}: pass --classifier-input {trained} or '
                    f'classifiers trained with {classifier_input}')


def check_scoring(out, args):
    """
    Stop in one line when ``out`` holds a run scored another way (its finished steps would be
    reused); otherwise record how this one scores.
    """
    path = os.path.join(out, 'scoring.json')
    scoring = {'classifier_input': args.classifier_input, 'decision': args.decision}
    before = None
    if os.path.isfile(path):
        with open(path, encoding='utf-8') as f:
            before = json.load(f)
    elif any(name.startswith('seed_') for name in os.listdir(out)):
        before = {'classifier_input': 'pair', 'decision': 'argmax'}  # a run from before the record
    if before is not None and before != scoring:
        raise SystemExit(f'error: --out {out} holds a run with {before}, not {scoring}: pass a new '
                         '--out')
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(scoring, f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--toxichat-data-dir', default=os.environ.get('TOXICHAT_DATA_DIR'),
                        required='TOXICHAT_DATA_DIR' not in os.environ)
    parser.add_argument('--out', default='zero_shot_run')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--classifiers', help='a finished toxichat/reproduce.py run (its --out) '
                        'with the same seeds; default: run it into OUT/classifiers')
    parser.add_argument('--prost-epochs', type=int, default=60, help="tiny_prost's 60 by default")
    parser.add_argument('--canary-epochs', type=int, default=150)
    parser.add_argument('--no-guard', action='store_true', help='skip the canary_guard run')
    add_recipe_protocol_arguments(parser, 'every scoring command')
    parser.add_argument('--threads', type=int, default=1)
    results_file.add_output_arguments(parser, 'only OUT/results.json')
    args = parser.parse_args()
    results_file.check_output(
        parser, args.results, args.overwrite, os.path.join(args.out, 'results.json')
    )
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    tc_dir = os.path.abspath(args.toxichat_data_dir)
    if not os.path.isdir(tc_dir):
        raise SystemExit(f'error: --toxichat-data-dir {tc_dir}: no such directory')
    # the classifiers first: a mismatch stops here, not after the Prosts are trained
    classifiers_dir = os.path.abspath(args.classifiers or os.path.join(out, 'classifiers'))
    missing = [s for s in args.seeds
               if not os.path.isfile(os.path.join(classifiers_dir, f'seed_{s}', 'offensive',
                                                  'model'))]
    if missing and args.classifiers:
        raise SystemExit(f'error: --classifiers {classifiers_dir} has no classifiers for seeds '
                         f'{missing}')
    check_classifier_input(classifiers_dir, [s for s in args.seeds if s not in missing],
                           args.classifier_input)
    check_scoring(out, args)

    from parlai_prosocial.samples import write_casual, write_sample
    from parlai_prosocial.tasks.prosocial.build import DATA_DIR_ENV
    from parlai_prosocial.tasks.topical_chat.build import DATA_DIR_ENV as TOPICAL_CHAT_ENV

    datapath = os.path.join(out, 'data')
    env = {
        DATA_DIR_ENV: write_sample('prosocial', os.path.join(out, 'prosocial_sample')),
        TOPICAL_CHAT_ENV: write_sample('topical_chat', os.path.join(out, 'topical_chat_sample')),
        'OMP_NUM_THREADS': str(args.threads),
        'MKL_NUM_THREADS': str(args.threads),
        'HF_HUB_OFFLINE': '1',
        'TRANSFORMERS_OFFLINE': '1',
    }
    if not os.path.isdir(os.path.join(datapath, 'dailydialog')):
        write_casual(datapath)
    start = time.time()
    commands = []

    # 2. ToxiChat classifiers, one pair per seed (the toxichat recipe)
    runner = Runner(out, env, out)
    if missing:
        runner.run(
            'classifiers',
            [sys.executable, os.path.join(REPO, 'projects/prosocial_dialog/toxichat/reproduce.py'),
             '--data-dir', tc_dir, '--out', classifiers_dir, '--threads', str(args.threads),
             '--seeds', *map(str, args.seeds), '--classifier-input', args.classifier_input],
        )
    commands += runner.commands
    classifiers_results = None
    if os.path.isfile(os.path.join(classifiers_dir, 'results.json')):
        classifiers_results = results_file.load(os.path.join(classifiers_dir, 'results.json'))
        commands += [c.replace('OUT/', 'OUT/classifiers/') for c in classifiers_results['commands']]

    per_seed = [run_seed(args, seed, out, env, datapath, tc_dir, classifiers_dir)
                for seed in args.seeds]
    for r in per_seed:
        commands += r['commands']
    written = results_file.write(
        os.path.join(out, 'results.json'),
        name='zero_shot',
        script=__file__,
        commands=commands,
        numbers={'per_seed': per_seed, 'paper_table5': TABLE5,
                 'classifier_input': args.classifier_input, 'decision': args.decision,
                 'prost_epochs': args.prost_epochs, 'canary_epochs': args.canary_epochs,
                 'threads': args.threads, 'total_seconds': time.time() - start},
        tables=tables(per_seed, classifiers_results, args.classifier_input, args.decision),
        seeds=args.seeds,
    )
    markdown = results_file.publish(written, args.results)
    with open(os.path.join(out, 'results.md'), 'w', encoding='utf-8') as f:
        f.write(markdown)
    print(f'total {(time.time() - start) / 60:.1f} min; results in {out}')


if __name__ == '__main__':
    main()
