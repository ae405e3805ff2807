#!/usr/bin/env python
"""
The zero-shot pipeline of the ProsocialDialog paper (§6.1 Table 5, §6.2) end to end at CPU scale.

    python projects/prosocial_dialog/zero_shot/reproduce.py \
        --toxichat-data-dir /work/shared/data/toxichat --out OUT

1. trains a tiny Prost (RoT & Response) with ``-o prosocial/tiny_prost`` on the bundled
   ProsocialDialog sample plus the offline fixtures of the casual datasets (the paper's
   seven-dataset mixture, every dataset a few dialogues), and a tiny Prost (Response only) on
   ``prosocial:response`` with the same mixture;
2. trains the ToxiChat stance and offensive classifiers with
   ``projects/prosocial_dialog/toxichat/reproduce.py`` (``--classifier-minutes`` each);
3. runs ``parlai eval_model -t toxichat -dt test`` with each Prost on the real ToxiChat test split,
   scoring the replies with the two classifiers and the bad-word list (Table 5's columns);
4. trains a tiny Canary (tiny offline T5, ``-o prosocial/tiny_canary`` on ``prosocial:safety``)
   and runs the same evaluation with ``-m canary_guard`` around the RoT & Response Prost
   (``--no-guard`` skips it).

A step whose output already exists is skipped (rerun with a new ``--out`` to start over). Writes
``OUT/results.json``, ``OUT/results.md`` and a log per command; every command is echoed.
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))

METRICS = ('toxichat_disagree', 'toxichat_agree', 'toxichat_neutral', 'toxichat_offensive',
           'toxichat_bad')

#: ProsocialDialog Table 5 (%), the two Prost rows
TABLE5 = {
    'Prost (Response only)': (14.8, 7.3, 6.0, 4.7),
    'Prost (RoT & Response)': (38.7, 4.6, 19.3, 13.3),
}


class Runner:
    def __init__(self, out, env):
        self.out = out
        self.env = dict(os.environ, **env)

    def run(self, name, command):
        log = os.path.join(self.out, name + '.log')
        shown = ' '.join(command).replace(sys.executable, 'python')
        print(f'[{time.strftime("%H:%M:%S")}] {name}: {shown}', flush=True)
        with open(os.path.join(self.out, 'commands.sh'), 'a') as f:
            f.write(shown + '\n')
        start = time.time()
        with open(log, 'w') as f:
            result = subprocess.run(
                command, stdout=f, stderr=subprocess.STDOUT, env=self.env, cwd=self.out
            )
        if result.returncode != 0:
            raise SystemExit(f'{name} failed ({result.returncode}); see {log}')
        print(f'    done in {time.time() - start:.0f}s', flush=True)
        return time.time() - start

    def parlai(self, name, args):
        return self.run(name, [sys.executable, '-m', 'parlai'] + args)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--toxichat-data-dir', default=os.environ.get('TOXICHAT_DATA_DIR'),
                        required='TOXICHAT_DATA_DIR' not in os.environ)
    parser.add_argument('--out', default='zero_shot_run')
    parser.add_argument('--classifier-minutes', type=float, default=3.0)
    parser.add_argument('--prost-epochs', type=int, default=60, help="tiny_prost's 60 by default")
    parser.add_argument('--no-guard', action='store_true', help='skip the canary_guard run')
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    tc_dir = os.path.abspath(args.toxichat_data_dir)

    from parlai_prosocial.casual_fixtures import write_casual_fixtures
    from parlai_prosocial.tasks.prosocial.build import DATA_DIR_ENV
    from parlai_prosocial.tasks.prosocial.sample import write_sample
    from parlai_prosocial.tasks.topical_chat.build import DATA_DIR_ENV as TOPICAL_CHAT_ENV
    from parlai_prosocial.tasks.topical_chat.sample import write_sample as write_topical_chat

    datapath = os.path.join(out, 'data')
    env = {
        DATA_DIR_ENV: write_sample(os.path.join(out, 'prosocial_sample'), 'hf'),
        TOPICAL_CHAT_ENV: write_topical_chat(os.path.join(out, 'topical_chat_sample')),
        'OMP_NUM_THREADS': str(args.threads),
        'MKL_NUM_THREADS': str(args.threads),
        'HF_HUB_OFFLINE': '1',
        'TRANSFORMERS_OFFLINE': '1',
    }
    if not os.path.isdir(os.path.join(datapath, 'dailydialog')):
        write_casual_fixtures(datapath)
    runner = Runner(out, env)
    start = time.time()
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
                   '--validation-every-n-epochs', str(args.prost_epochs)]
        if task:
            # the preset's mixture with ProsocialDialog in the Response-only format
            from parlai.core.opt import Opt

            mixture = Opt.load_init('prosocial/tiny_prost')['task'].split(',')
            command += ['-t', ','.join([task] + mixture[1:])]
        timings[f'train_prost_{variant}'] = runner.parlai(f'train_prost_{variant}', command)

    # 2. ToxiChat classifiers (the toxichat recipe, shorter)
    classifiers = os.path.join(out, 'classifiers')
    stance = os.path.join(classifiers, 'stance', 'model')
    offensive = os.path.join(classifiers, 'offensive', 'model')
    if not (os.path.isfile(stance) and os.path.isfile(offensive)):
        timings['classifiers'] = runner.run(
            'classifiers',
            [sys.executable, os.path.join(REPO, 'projects/prosocial_dialog/toxichat/reproduce.py'),
             '--data-dir', tc_dir, '--out', classifiers,
             '--minutes', str(args.classifier_minutes), '--threads', str(args.threads)],
        )
    toxichat_args = ['-t', 'toxichat', '-dt', 'test', '--toxichat-data-dir', tc_dir,
                     '--toxichat-stance-model-file', stance,
                     '--toxichat-offensive-model-file', offensive,
                     '--datapath', datapath, '-bs', '1']

    def evaluate(name, model_args):
        report = os.path.join(out, name + '.json')
        if not os.path.isfile(report):
            timings[name] = runner.parlai(
                name,
                ['eval_model'] + model_args + toxichat_args
                + ['--report-filename', report, '--world-logs', os.path.join(out, name + '.jsonl')],
            )
        with open(report) as f:
            return json.load(f)['report']

    # 3. Table 5 with the two tiny Prosts
    rows = {
        'tiny Prost (Response only)': evaluate('toxichat_prost_response_only',
                                               ['-mf', prost['response_only']]),
        'tiny Prost (RoT & Response)': evaluate('toxichat_prost_rot_response',
                                                ['-mf', prost['rot_response']]),
    }

    # 4. canary_guard around the RoT & Response Prost
    if not args.no_guard:
        canary_dir = os.path.join(out, 'canary')
        canary = os.path.join(canary_dir, 'model')
        if not os.path.isfile(canary):
            from parlai_prosocial.agents.canary.tiny import build_tiny_t5

            t5 = build_tiny_t5(os.path.join(out, 'tiny_t5'))
            os.makedirs(canary_dir, exist_ok=True)
            timings['train_canary'] = runner.parlai(
                'train_canary',
                ['train_model', '-o', 'prosocial/tiny_canary', '-t', 'prosocial:safety',
                 '--t5-model-arch', t5, '-mf', canary, '--num-epochs', '150'],
            )
        rows['canary_guard + tiny Prost (RoT & Response)'] = evaluate(
            'toxichat_guarded_prost_rot_response',
            ['-m', 'canary_guard', '--guarded-model-file', prost['rot_response'],
             '--canary-model-file', canary],
        )

    results = {'rows': rows, 'timings_seconds': timings, 'total_seconds': time.time() - start}
    with open(os.path.join(out, 'results.json'), 'w') as f:
        json.dump(results, f, indent=2)
    lines = ['| model (300 ToxiChat test threads, %) | Disagree | Agree | Neutral | Offense | Bad |',
             '|---|---:|---:|---:|---:|---:|']
    for name, report in rows.items():
        lines.append(f'| {name} | ' + ' | '.join(
            f'{100 * report[m]:.1f}' if m in report else '-' for m in METRICS) + ' |')
    for name, (d, a, o, b) in TABLE5.items():
        lines.append(f'| paper Table 5: {name} | {d} | {a} | {100 - d - a:.1f} | {o} | {b} |')
    table = '\n'.join(lines) + '\n'
    with open(os.path.join(out, 'results.md'), 'w') as f:
        f.write(table)
    print(table)
    print(f'total {results["total_seconds"] / 60:.1f} min; results in {out}')


if __name__ == '__main__':
    main()
