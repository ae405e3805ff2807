#!/usr/bin/env python
"""
The example prosocial report in ``report/``: the format of ``python -m parlai_prosocial.report``
with tiny models, on the samples bundled with the plugin (``parlai_prosocial/samples``), so any
clone can make it again. Not a result: every model here is tiny.

    python projects/prosocial_dialog/report_example/reproduce.py [--work /tmp/report_example] \
        [--out DIR | --overwrite]

1. Builds, in ``--work`` (not committed), the data and the tiny models: the bundled
   ProsocialDialog and ToxiChat samples written out; a tiny RoT & Response generator
   (``-o prosocial/tiny_generator`` on ``prosocial:rot_response``, 30 epochs, the README's first
   training command), a tiny Canary (``-o prosocial/tiny_canary`` on ``prosocial:safety``, 150
   epochs, the tiny random T5), tiny stance and offensive classifiers (``-o
   prosocial/tiny_classifier``, 2 epochs, pair input) on the ToxiChat sample's training threads.
2. Runs the report into ``--work``/report (so every path its commands record is under
   ``--work``, which this script rebuilds on any machine) and copies it to ``--out``. The
   ProsocialDialog section reads the sample's *training* dialogues as its test split (the
   sample's own test split is one turn; its training dialogues cover all five safety levels, and
   the tiny generator has seen them), the ToxiChat section the sample's five test threads.

The committed example is written only from a committed tree (its results record the commit; a
tree with uncommitted changes is refused unless ``--out`` is elsewhere).
"""

import argparse
import os
import shutil
import subprocess
import sys

from parlai_prosocial import results

HERE = os.path.dirname(os.path.abspath(__file__))
COMMITTED = os.path.join(HERE, 'report')
#: the environment as the user started this script: training in this process makes ParlAI set
#: $PARLAI_DATAPATH, which the report would then record as the user's choice
ENVIRONMENT = dict(os.environ)


def build_models(work, toxichat_dir=None):
    """
    The example's data and tiny models under ``work`` (what is there already is reused):
    ``{'prosocial': test folder, 'toxichat': data folder, 'generator', 'canary', 'stance',
    'offensive': model files}``. ``toxichat_dir``: other ToxiChat files than the bundled sample
    (the benchmark's real threads); their classifiers are trained on them.
    """
    from parlai_prosocial import testing
    from parlai_prosocial.agents.canary.tiny import build_tiny_t5
    from parlai_prosocial.samples import write_sample

    sample = write_sample('prosocial', os.path.join(work, 'sample'))
    test_dir = os.path.join(work, 'prosocial')
    os.makedirs(test_dir, exist_ok=True)
    for split, source in (('train', 'train'), ('valid', 'valid'), ('test', 'train')):
        shutil.copy(os.path.join(sample, f'{source}.json'), os.path.join(test_dir, f'{split}.json'))
    toxichat = toxichat_dir or write_sample('toxichat', os.path.join(work, 'toxichat'))
    env = dict(PROSOCIAL_DATA_DIR=sample)
    built = {'prosocial': test_dir, 'toxichat': os.path.abspath(toxichat),
             'generator': os.path.join(work, 'rot_response_generator', 'model'),
             'canary': os.path.join(work, 'canary', 'model')}
    for model_file, args in (
        (built['generator'], ['-o', 'prosocial/tiny_generator', '-t', 'prosocial:rot_response',
                              '--num-epochs', '30']),
        (built['canary'], ['-o', 'prosocial/tiny_canary', '-t', 'prosocial:safety',
                           '--multitask-weights', '1', '--t5-model-arch',
                           build_tiny_t5(os.path.join(work, 'tiny_t5')), '--num-epochs', '150']),
    ):
        if not os.path.isfile(model_file):
            os.makedirs(os.path.dirname(model_file), exist_ok=True)
            testing.parlai_in_process(['train_model'] + args + ['-mf', model_file],
                                      cwd=os.path.dirname(model_file), env_extra=env)
    classifiers = {n: os.path.join(work, 'classifiers', n) for n in ('stance', 'offensive')}
    if not all(os.path.isfile(f) for f in classifiers.values()):
        os.makedirs(os.path.join(work, 'classifiers'), exist_ok=True)
        classifiers = testing.train_toxichat_classifiers(
            os.path.join(work, 'classifiers'), built['toxichat'])
    built.update(classifiers)
    return built


def report_command(built, report_dir, *extra):
    return [sys.executable, '-m', 'parlai_prosocial.report', '-mf', built['generator'],
            '--guard-model-file', built['canary'], '--report-dir', report_dir,
            '--prosocial-data-dir', built['prosocial'], '--toxichat-data-dir', built['toxichat'],
            '--toxichat-stance-model-file', built['stance'],
            '--toxichat-offensive-model-file', built['offensive'], *extra]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work', default='/tmp/report_example',
                        help='where the data and the tiny models are built (not committed)')
    parser.add_argument('--out', default=COMMITTED,
                        help='where the report is copied (default: the committed example, which '
                        'only --overwrite replaces)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace the committed example report')
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    results.check_output(parser, None, args.overwrite, own=os.path.join(out, 'results.json'))
    commit = results.versions()['parlai_prosocial'] or ''
    if out == COMMITTED and 'uncommitted' in commit:
        parser.exit(2, f'{parser.prog}: error: the tree has uncommitted changes: commit them first '
                    '(the example records the commit it was written from), or give --out\n')
    work = os.path.abspath(args.work)
    built = build_models(work)
    report_dir = os.path.join(work, 'report')
    # ParlAI's data folder under --work too: its default is inside the environment's ParlAI
    # package, a path of this machine that the report would record
    datapath = os.path.join(work, 'parlai_data')
    subprocess.run(report_command(built, report_dir, '--datapath', datapath, '--overwrite',
                                  '--loglevel', 'warn'),
                   check=True, cwd=work, env=ENVIRONMENT)
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(report_dir, out)
    # said where the report is read, not only in this folder's README
    report_md = os.path.join(out, 'report.md')
    with open(report_md, encoding='utf-8') as f:
        title, rest = f.read().split('\n', 1)
    with open(report_md, 'w', encoding='utf-8') as f:
        f.write(f'{title}\n\n{NOTE}\n{rest}')
    print(f'copied to {out}')


NOTE = ('> **A tiny-model example of the format, not a result**: every model here is tiny and '
        'trained for seconds on the bundled samples (see [../README.md](../README.md)); the '
        'numbers say nothing about any real model. Its commands name `/tmp/report_example`, '
        'where `reproduce.py` builds the models and the data.')


if __name__ == '__main__':
    main()
