#!/usr/bin/env python
"""
The example prosocial report in ``report/``: the format of ``python -m parlai_prosocial.report``
with tiny models, on the real ToxiChat test threads. Not a result: every model here is tiny.

    python projects/prosocial_dialog/report_example/reproduce.py [--work /tmp/report_example] \
        [--out DIR | --overwrite]

1. Builds, in ``--work`` (not committed), the tiny models the tests use: a tiny
   ``transformer/generator`` (``-o prosocial/tiny_generator``, 30 epochs on the bundled
   ProsocialDialog sample), a tiny Canary (``-o prosocial/tiny_canary`` on ``prosocial:safety``,
   150 epochs, the tiny random T5), and tiny stance and offensive classifiers
   (``-o prosocial/tiny_classifier``, 2 epochs, pair input) on the real ToxiChat training threads
   of ``../shared/data/toxichat``.
2. Runs the report: the ProsocialDialog section reads the bundled sample's *training* dialogues as
   its test split (the sample's own test split is one turn; its training dialogues cover all five
   safety levels, and the tiny generator has seen them), the ToxiChat section the 300 real test
   threads.
"""

import argparse
import os
import shutil
import subprocess
import sys

from parlai_prosocial import results

HERE = os.path.dirname(os.path.abspath(__file__))
TOXICHAT = os.path.join(results.REPO, '..', 'shared', 'data', 'toxichat')


def build_models(work):
    from parlai_prosocial import testing
    from parlai_prosocial.agents.canary.tiny import build_tiny_t5
    from parlai_prosocial.samples import write_sample

    sample = write_sample('prosocial', os.path.join(work, 'sample'))
    test_dir = os.path.join(work, 'prosocial')
    os.makedirs(test_dir, exist_ok=True)
    for split, source in (('train', 'train'), ('valid', 'valid'), ('test', 'train')):
        shutil.copy(os.path.join(sample, f'{source}.json'), os.path.join(test_dir, f'{split}.json'))
    env = dict(PROSOCIAL_DATA_DIR=sample)
    generator = os.path.join(work, 'generator', 'model')
    canary = os.path.join(work, 'canary', 'model')
    for model_file, args in (
        (generator, ['-o', 'prosocial/tiny_generator', '-t', 'prosocial', '--num-epochs', '30']),
        (canary, ['-o', 'prosocial/tiny_canary', '-t', 'prosocial:safety', '--multitask-weights',
                  '1', '--t5-model-arch', build_tiny_t5(os.path.join(work, 'tiny_t5')),
                  '--num-epochs', '150']),
    ):
        if not os.path.isfile(model_file):
            os.makedirs(os.path.dirname(model_file), exist_ok=True)
            testing.parlai_in_process(['train_model'] + args + ['-mf', model_file],
                                      cwd=os.path.dirname(model_file), env_extra=env)
    classifiers = {n: os.path.join(work, 'classifiers', n) for n in ('stance', 'offensive')}
    if not all(os.path.isfile(f) for f in classifiers.values()):
        os.makedirs(os.path.join(work, 'classifiers'), exist_ok=True)
        classifiers = testing.train_toxichat_classifiers(
            os.path.join(work, 'classifiers'), os.path.normpath(TOXICHAT))
    return test_dir, generator, canary, classifiers


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work', default='/tmp/report_example',
                        help='where the tiny models are built (not committed)')
    parser.add_argument('--out', default=os.path.join(HERE, 'report'),
                        help='the report folder (default: the committed example, which only '
                        '--overwrite replaces)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace the committed example report')
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    results.check_output(parser, None, args.overwrite, own=os.path.join(out, 'results.json'))
    if not os.path.isdir(TOXICHAT):
        sys.exit(f'{os.path.normpath(TOXICHAT)} is not here (../shared/data)')
    work = os.path.abspath(args.work)
    test_dir, generator, canary, classifiers = build_models(work)
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, '-m', 'parlai_prosocial.report', '-mf', generator,
               '--guard-model-file', canary, '--report-dir', out,
               '--prosocial-data-dir', test_dir, '--toxichat-data-dir', os.path.normpath(TOXICHAT),
               '--toxichat-stance-model-file', classifiers['stance'],
               '--toxichat-offensive-model-file', classifiers['offensive'],
               '--loglevel', 'warn']
    subprocess.run(command, check=True, cwd=results.REPO)
    # said where the report is read, not only in this folder's README
    report_md = os.path.join(out, 'report.md')
    with open(report_md) as f:
        title, rest = f.read().split('\n', 1)
    with open(report_md, 'w') as f:
        f.write(f'{title}\n\n{NOTE}\n{rest}')


NOTE = ('> **A tiny-model example of the format, not a result**: every model here is tiny and '
        'trained for seconds (see [../README.md](../README.md)); the numbers say nothing about '
        'any real model.')


if __name__ == '__main__':
    main()
