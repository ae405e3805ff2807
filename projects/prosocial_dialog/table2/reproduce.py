#!/usr/bin/env python
"""
Table 2 of the ProsocialDialog paper (§5.1: dialogue safety classification and RoT generation),
every row that runs in ParlAI, end to end at CPU scale on tiny models.

    python projects/prosocial_dialog/table2/reproduce.py --out OUT [--results PATH]

It runs the paper's recipes (the same presets as at full scale; only the model size, batch size,
learning rate and number of epochs are overridden, on the command line) on the bundled
upstream-schema samples, offline:

* **T5**: ``-o prosocial/canary_t5_baseline`` (the 4:1:1:1 Canary mixture from the plain T5);
* **Canary (Social Chemistry / MIC / Delphi)**: ``-o prosocial/canary_pretrain_<corpus>`` on the
  corpus sample, then ``-o prosocial/canary_<corpus> --init-model STAGE1``;
* **GPT-2**: ``-o prosocial/table2_gpt2`` (accuracy: the label generated) and
  ``-o prosocial/table2_gpt2_rots`` (RoT generation on ``prosocial:rots``);
* **DialoGPT** (RoT generation): ``-o prosocial/table2_dialogpt_rots`` (``-m dialogpt_local``);
* **BAD classifier**: ``-o prosocial/table2_bad_classifier --init-model STANDIN`` (``-m
  bad_classifier``: the BAD classifier fine-tuned on our five labels with a new output layer), and,
  as a labelled extension outside Table 2, the un-fine-tuned classifier evaluated on our turns with
  their labels mapped to its ``__ok__`` / ``__notok__``
  (``parlai_prosocial.baselines.bad_classifier``);

with a tiny random T5 (``parlai_prosocial.agents.canary.tiny``) and GPT-2
(``parlai_prosocial.baselines.tiny_gpt2``) in place of T5-large and GPT-2, and a tiny
``transformer/classifier`` with the BAD classes, trained on the sample's training turns with the
mapped labels, in place of ``zoo:bot_adversarial_dialogue/multi_turn/model``; evaluates each with
``parlai eval_model`` on the sample's valid and test splits (and on its training split, to show
the fit): Table 2's accuracy (``safety_acc``,
five levels, for the T5 rows; ``accuracy`` of the generated label for GPT-2, of the predicted
class for the BAD classifier), and on test
``rot_bleu-4``, ``rot_f1``, ``rot_ppl`` (for the RoT-only models ``bleu-4``, ``f1`` and ``ppl`` on
``prosocial:rots``, the same quantities). The numbers show the pipeline works, not the paper's
quality. Every training is bounded by epochs and seeded (``--seed``). Writes ``OUT/results.json``
(:mod:`parlai_prosocial.results`; ``--results PATH`` also writes it to PATH), a log per command and
``OUT/commands.sh``. The rows it does not run, and why, are listed in the README beside it.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))

#: Table 2 of the paper, in its order: model -> (acc valid, acc test, BLEU-4, F1, PPL); None: "-"
PAPER = {
    'BAD classifier': (72.2, 72.1, None, None, None),
    'BERT': (73.1, 72.8, None, None, None),
    'NormTransformer': (None, None, 10.2, 36.1, 8.6),
    'DialoGPT': (None, None, 10.0, 32.1, 8.7),
    'GPT-2': (69.3, 68.4, 9.6, 32.3, 8.8),
    'T5': (72.4, 73.4, 16.1, 38.9, 5.9),
    'Canary (Social Chemistry)': (73.5, 73.1, 16.3, 39.2, 5.4),
    'Canary (MIC)': (74.1, 74.0, 16.2, 41.2, 5.3),
    'Canary (Delphi)': (77.9, 77.1, 16.5, 43.3, 5.3),
}

#: the zero-shot extension's row (not a Table 2 row)
ZERO_SHOT_ROW = 'BAD classifier, zero-shot (extension)'

CORPORA = {
    # corpus -> (row, data-dir option)
    'social_chem': ('Canary (Social Chemistry)', '--social-chem-data-dir'),
    'mic': ('Canary (MIC)', '--mic-data-dir'),
    'norm_bank': ('Canary (Delphi)', '--norm-bank-data-dir'),
}


class Runner:
    def __init__(self, out, env):
        self.out = out
        self.env = dict(os.environ, **env)
        self.commands = []

    def parlai(self, name, args):
        command = [sys.executable, '-m', 'parlai'] + args
        shown = ' '.join(['parlai'] + args).replace(self.out, 'OUT')
        self.commands.append(shown)
        print(f'[{time.strftime("%H:%M:%S")}] {name}: {shown}', flush=True)
        with open(os.path.join(self.out, 'commands.sh'), 'a', encoding='utf-8') as f:
            f.write(shown + '\n')
        log = os.path.join(self.out, name + '.log')
        with open(log, 'w', encoding='utf-8') as f:
            result = subprocess.run(command, stdout=f, stderr=subprocess.STDOUT, env=self.env,
                                    cwd=self.out)
        if result.returncode != 0:
            raise SystemExit(f'{name} failed ({result.returncode}); see {log}')

    def evaluate(self, name, model_file, task, datatype):
        report = os.path.join(self.out, f'{name}.json')
        self.parlai(name, ['eval_model', '-mf', model_file, '-t', task, '-dt', datatype,
                           '--batchsize', '4', '--report-filename', report])
        with open(report, encoding='utf-8') as f:
            return json.load(f)['report']

    def accuracy(self, name, model_file, task, metric, fit):
        """
        ``model_file`` evaluated on ``task``'s valid and test splits (and its training split when
        ``fit``): ``{'acc_train', 'acc_valid', 'acc_test'}`` (``metric`` of each report) and the
        reports under ``train``, ``valid``, ``test``.
        """
        reports = {'train': {metric: None}}
        if fit:
            reports['train'] = self.evaluate(f'eval_{name}_train', model_file, task,
                                             'train:evalmode')
        for split in ('valid', 'test'):
            reports[split] = self.evaluate(f'eval_{name}_{split}', model_file, task, split)
        numbers = {f'acc_{split}': report[metric] for split, report in reports.items()}
        numbers.update(reports)
        return numbers


def prepare(out):
    """
    The offline data and tiny base models: (env, datapath, corpus dirs, tiny T5, tiny GPT-2).
    """
    from parlai_prosocial.agents.canary.tiny import build_tiny_t5
    from parlai_prosocial.baselines.tiny_gpt2 import build_tiny_gpt2
    from parlai_prosocial.samples import write_casual, write_sample

    data = os.path.join(out, 'data')
    datapath = os.path.join(data, 'parlai')
    write_casual(datapath)
    corpus_dirs = {
        corpus: write_sample(corpus, os.path.join(data, corpus))
        for corpus in ('social_chem', 'mic', 'norm_bank')
    }
    env = dict(PROSOCIAL_DATA_DIR=write_sample('prosocial', os.path.join(data, 'prosocial')),
               OMP_NUM_THREADS='1', HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1')
    t5 = build_tiny_t5(os.path.join(out, 'tiny_t5'))
    gpt2 = build_tiny_gpt2(os.path.join(out, 'tiny_gpt2'))
    return env, datapath, corpus_dirs, t5, gpt2


def run(args):
    from parlai_prosocial.baselines import bad_classifier

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    env, datapath, corpus_dirs, t5, gpt2 = prepare(out)
    runner = Runner(out, env)
    seed = ['--seed', str(args.seed)]
    tiny = ['--batchsize', '4', '--eval-batchsize', '4', '--learningrate', str(args.lr)]
    canary_models = {}

    # T5 and the three Canaries: the same stage 2, from the plain T5 or from a stage-1 model
    stage2 = ['--t5-model-arch', t5, '--datapath', datapath, '--num-epochs', str(args.epochs),
              '--validation-every-n-epochs', '-1'] + tiny + seed
    model = os.path.join(out, 't5', 'model')
    runner.parlai('train_t5', ['train_model', '-o', 'prosocial/canary_t5_baseline', '-mf', model]
                  + stage2)
    canary_models['T5'] = model
    for corpus, (row, option) in CORPORA.items():
        stage1 = os.path.join(out, f'{corpus}_stage1', 'model')
        runner.parlai(f'train_{corpus}_stage1', [
            'train_model', '-o', f'prosocial/canary_pretrain_{corpus}', '-mf', stage1,
            '--t5-model-arch', t5, option, corpus_dirs[corpus],
            '--num-epochs', str(args.pretrain_epochs), '--validation-every-n-epochs', '-1',
        ] + tiny + seed)
        model = os.path.join(out, corpus, 'model')
        runner.parlai(f'train_{corpus}', ['train_model', '-o', f'prosocial/canary_{corpus}',
                                          '-mf', model, '--init-model', stage1] + stage2)
        canary_models[row] = model

    numbers = {}
    for row, model in canary_models.items():
        name = row.lower().replace(' ', '_').replace('(', '').replace(')', '')
        numbers[row] = runner.accuracy(name, model, 'prosocial:safety', 'safety_acc', args.fit)
        test = numbers[row]['test']
        numbers[row].update(rot_bleu4=test.get('rot_bleu-4'), rot_f1=test.get('rot_f1'),
                            rot_ppl=test.get('rot_ppl'))

    model = os.path.join(out, 'gpt2', 'model')
    runner.parlai('train_gpt2', ['train_model', '-o', 'prosocial/table2_gpt2', '-mf', model,
                                 '--model-name', gpt2, '--num-epochs', str(args.gpt2_epochs),
                                 '--validation-every-n-epochs', '-1'] + tiny + seed)
    numbers['GPT-2'] = runner.accuracy('gpt2', model, 'prosocial:safety_classification',
                                       'accuracy', args.fit)
    numbers['GPT-2'].update(rot_bleu4=None, rot_f1=None, rot_ppl=None)

    # the RoT-generation columns of GPT-2 and DialoGPT: each fine-tuned to generate the RoTs
    for row, preset, name in (('GPT-2', 'table2_gpt2_rots', 'gpt2_rots'),
                              ('DialoGPT', 'table2_dialogpt_rots', 'dialogpt_rots')):
        model = os.path.join(out, name, 'model')
        runner.parlai(f'train_{name}', ['train_model', '-o', f'prosocial/{preset}', '-mf', model,
                                        '--model-name', gpt2, '--num-epochs',
                                        str(args.gpt2_epochs), '--validation-every-n-epochs',
                                        '-1'] + tiny + seed)
        test = runner.evaluate(f'eval_{name}_test', model, 'prosocial:rots', 'test')
        numbers.setdefault(row, dict(acc_train=None, acc_valid=None, acc_test=None))
        numbers[row].update(rot_bleu4=test['bleu-4'], rot_f1=test['f1'], rot_ppl=test['ppl'],
                            rots_test=test)

    # the BAD classifier: the stand-in of the zoo model, fine-tuned with the preset; and the
    # stand-in itself evaluated on the labels mapped to its two classes (the extension)
    standin = os.path.join(out, 'bad_standin', 'model')
    runner.parlai('train_bad_standin', bad_classifier.standin_train_args(standin, seed=args.seed))
    model = os.path.join(out, 'bad_classifier', 'model')
    runner.parlai('train_bad_classifier', [
        'train_model', '-o', bad_classifier.PRESET,
        '-mf', model, '--init-model', standin, '--dict-file', standin + '.dict',
        '--num-epochs', str(args.bad_epochs), '--validation-every-n-epochs', '-1',
        '--warmup-updates', '-1',
    ] + bad_classifier.tiny_size_args() + tiny + seed)
    numbers['BAD classifier'] = runner.accuracy('bad_classifier', model,
                                                'prosocial:safety_classification', 'accuracy',
                                                args.fit)
    numbers['BAD classifier'].update(rot_bleu4=None, rot_f1=None, rot_ppl=None)
    zero_shot = runner.accuracy('bad_zero_shot', standin, bad_classifier.OK_NOTOK_TASK,
                                'accuracy', fit=False)
    return out, runner.commands, numbers, zero_shot


def tables(numbers, zero_shot):
    from parlai_prosocial import results

    def pct(value):
        return None if value is None else 100 * value

    def finite(value):
        return None if value is None or not math.isfinite(value) else value

    rows = [[row, pct(n['acc_train']), pct(n['acc_valid']), pct(n['acc_test']),
             pct(n['rot_bleu4']), pct(n['rot_f1']), finite(n['rot_ppl'])]
            for row, n in numbers.items()]
    columns = ['Model (tiny, on the samples)', 'Acc. train (fit)', 'Acc. valid', 'Acc. test',
               'BLEU-4', 'F1', 'PPL']
    formats = [None, '.1f', '.1f', '.1f', '.1f', '.1f', '.2f']
    paper = [[row] + list(values) for row, values in PAPER.items()]
    paper_columns = ['Model (paper)', 'Acc. valid', 'Acc. test', 'BLEU-4', 'F1', 'PPL']
    zero_shot_columns = ['Model (tiny, on the samples)', 'Acc. valid (`__ok__` / `__notok__`)',
                         'Acc. test (`__ok__` / `__notok__`)']
    zero_shot_rows = [[ZERO_SHOT_ROW, pct(zero_shot['acc_valid']), pct(zero_shot['acc_test'])]]
    return {
        'table2': results.table(columns, rows, formats),
        'table2_paper': results.table(paper_columns, paper, [None] + formats[2:]),
        'bad_zero_shot': results.table(zero_shot_columns, zero_shot_rows, [None, '.1f', '.1f']),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', required=True)
    from parlai_prosocial import results

    results.add_output_arguments(parser, 'only OUT/results.json')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--lr', type=float, default=0.01)
    parser.add_argument('--epochs', type=int, default=20, help='Canary mixture (stage 2) epochs')
    parser.add_argument('--pretrain-epochs', type=int, default=20, help='stage-1 epochs')
    parser.add_argument('--gpt2-epochs', type=int, default=40)
    parser.add_argument('--bad-epochs', type=int, default=40,
                        help='epochs of the BAD classifier fine-tuning')
    parser.add_argument('--no-fit', dest='fit', action='store_false',
                        help='skip the evaluations on the training split (the fit column)')
    args = parser.parse_args()
    results.check_output(
        parser, args.results, args.overwrite, os.path.join(args.out, 'results.json')
    )

    out, commands, numbers, zero_shot = run(args)
    written = results.write(
        os.path.join(out, 'results.json'), 'table2', __file__, commands, numbers,
        tables(numbers, zero_shot), seeds=[args.seed], bad_zero_shot=zero_shot,
    )
    results.publish(written, args.results)
    print(f'results.json, a log per command and the models in {out}')
    return written


if __name__ == '__main__':
    main()
