#!/usr/bin/env python
"""
The Hugging Face export at the papers' sizes: time, peak memory, and parity on a few contexts.

    python benchmarks/export/run.py --out OUT [--results benchmarks/export/results.json]

Two models with random weights, built offline:

* **Prost** of the 2.7B preset (``-m prost`` with ``-o prosocial/pushshift_2.7B``'s architecture:
  PushShift 2.7B / BlenderBot-3B, 2 encoder and 24 decoder layers, d=2560), with the Prost preset's
  history format (``--delimiter '  '``, ``--history-add-global-end-token end``) and a byte-level
  BPE dictionary as ``zoo:blender/reddit_3B``'s kind (the real BPE files are a download: this one
  is trained on the bundled samples, ``--bpe-size`` tokens at most);
* **Canary** on a T5-large (the written-out ``T5_LARGE`` config of ``benchmarks/canary_guard``,
  whose ``paper_canary`` builds it; the tiny offline tokenizer).

Each model goes through three processes, so that each peak is its own and no process holds two
copies of the weights: (1) ParlAI builds the agent, saves the model file, and computes its greedy
replies (``--reply-tokens`` steps) and next-token log-probabilities on ``CONTEXTS``
(:func:`parlai_prosocial.export.parity.parlai_side`); (2) ``python -m parlai_prosocial.export``
exports it (timed; peak RSS of that process); (3) ``transformers`` loads the folder and compares
(:func:`parlai_prosocial.export.parity.hf_side`). CPU, ``--threads`` torch threads.

Writes ``OUT/results.json`` (:mod:`parlai_prosocial.results`); ``--results PATH`` writes it there
too.
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

#: single and multi-turn contexts (the partner's turn last)
CONTEXTS = [
    ["I'm going to call 911 just for fun tonight."],
    ['Hi there!', 'Hello! How are you?', 'I want to skip school tomorrow and tell nobody.'],
    ['My friend borrowed money and never paid it back.', 'That sounds frustrating.',
     'So I took his phone to sell it.'],
]


def _canary_guard_module():
    """
    ``benchmarks/canary_guard/run.py`` as a module (its paper-size Canary, its memory reading).
    """
    import importlib.util

    path = os.path.join(os.path.dirname(HERE), 'canary_guard', 'run.py')
    spec = importlib.util.spec_from_file_location('_canary_guard_run', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _peak_gb():
    return _canary_guard_module()._rss_gb('VmHWM')  # this process's peak RSS


def bytelevel_files(out, size):
    """
    ``(vocab.json, merges.txt)`` of a byte-level BPE trained on the bundled samples' texts.
    """
    from tokenizers import ByteLevelBPETokenizer

    from parlai_prosocial.agents.canary.tiny import sample_texts

    prefix = os.path.join(out, 'bpe')
    if not os.path.isfile(prefix + '-vocab.json'):
        tokenizer = ByteLevelBPETokenizer(add_prefix_space=True)
        tokenizer.train_from_iterator(list(sample_texts()) + CONTEXTS[1] + CONTEXTS[2],
                                      vocab_size=size, min_frequency=1, show_progress=False)
        tokenizer.save_model(out, 'bpe')
    return prefix + '-vocab.json', prefix + '-merges.txt'


def build_prost(out, args):
    from parlai.core.agents import create_agent
    from parlai.core.opt import Opt
    from parlai.core.params import ParlaiParser

    vocab, merges = bytelevel_files(out, args.bpe_size)
    model_file = os.path.join(out, 'prost', 'model')
    os.makedirs(os.path.dirname(model_file), exist_ok=True)
    prost = Opt.load_init('prosocial/prost')
    argv = ['-m', 'prost', '-o', 'prosocial/pushshift_2.7B', '--dict-file', model_file + '.dict',
            '--bpe-vocab', vocab, '--bpe-merge', merges, '--delimiter', prost['delimiter'],
            '--history-add-global-end-token', prost['history_add_global_end_token'],
            '--inference', 'greedy', '--no-cuda', '--fp16', 'false',
            '--datatype', 'valid']
    if args.small:  # the smoke test's size
        argv += ['--n-encoder-layers', '1', '--n-decoder-layers', '1', '--embedding-size', '64',
                 '--ffn-size', '128', '--n-heads', '2']
    agent = create_agent(ParlaiParser(True, True).parse_args(argv))
    agent.opt['model_file'] = model_file
    agent.save(model_file)
    return agent, model_file, 'parlai ' + ' '.join(argv)


def build_canary(out, args):
    from parlai.core.agents import create_agent_from_model_file

    model_file, _ = _canary_guard_module().paper_canary(
        out, 'tiny' if args.small else 'large', args.seed)
    agent = create_agent_from_model_file(model_file, {'no_cuda': True, 'inference': 'greedy'})
    return agent, model_file, 'benchmarks/canary_guard/run.py paper_canary (T5_LARGE)'


def step_parlai(args):
    """
    Process 1: build the model, save its model file, compute ParlAI's side.
    """
    import torch

    from parlai_prosocial.export import input_format
    from parlai_prosocial.export.parity import parlai_side

    torch.manual_seed(args.seed)
    started = time.perf_counter()
    agent, model_file, command = (build_prost if args.model == 'prost' else build_canary)(
        args.out, args)
    built = time.perf_counter() - started
    started = time.perf_counter()
    rows = parlai_side(agent, CONTEXTS, input_format(agent.opt), args.reply_tokens)
    seconds = time.perf_counter() - started
    torch.save({'rows': rows, 'model_file': model_file, 'command': command,
                'parameters': sum(p.numel() for p in agent.model.parameters()),
                'build_seconds': built, 'parlai_seconds': seconds, 'peak_gb': _peak_gb()},
               os.path.join(args.out, f'{args.model}_parlai.pt'))


def step_hf(args):
    """
    Process 3: load the exported folder with transformers and compare.
    """
    import torch

    from parlai_prosocial.export.parity import hf_side, load_folder

    parlai = torch.load(os.path.join(args.out, f'{args.model}_parlai.pt'), weights_only=False)
    started = time.perf_counter()
    loaded = load_folder(os.path.join(args.out, f'{args.model}_hf'))
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    rows = hf_side(loaded, CONTEXTS, parlai['rows'], args.reply_tokens)
    with open(os.path.join(args.out, f'{args.model}_hf.json'), 'w', encoding='utf-8') as f:
        json.dump({'rows': rows, 'load_seconds': load_seconds,
                   'hf_seconds': time.perf_counter() - started, 'peak_gb': _peak_gb()}, f)


def step_export(args):
    """
    Process 2: the export command, timed, with this process's peak memory.
    """
    from parlai_prosocial.export.__main__ import main as export_main

    started = time.perf_counter()
    status = export_main(export_argv(args))
    if status:
        raise SystemExit(status)
    with open(os.path.join(args.out, f'{args.model}_export.json'), 'w', encoding='utf-8') as f:
        json.dump({'seconds': time.perf_counter() - started, 'peak_gb': _peak_gb()}, f)


def export_argv(args):
    import torch

    parlai = torch.load(os.path.join(args.out, f'{args.model}_parlai.pt'), weights_only=False)
    return ['-mf', parlai['model_file'], '--out', os.path.join(args.out, f'{args.model}_hf'),
            '--overwrite']


def run_step(args, step, env):
    command = [sys.executable, os.path.abspath(__file__), '--step', step, '--model', args.model,
               '--out', args.out, '--seed', str(args.seed), '--reply-tokens',
               str(args.reply_tokens), '--bpe-size', str(args.bpe_size)]
    subprocess.run(command + (['--small'] if args.small else []), env=env, check=True)


def measure(args, env):
    import torch

    run_step(args, 'parlai', env)
    parlai = torch.load(os.path.join(args.out, f'{args.model}_parlai.pt'), weights_only=False)
    folder = os.path.join(args.out, f'{args.model}_hf')
    run_step(args, 'export', env)
    with open(os.path.join(args.out, f'{args.model}_export.json'), encoding='utf-8') as f:
        export = json.load(f)
    run_step(args, 'hf', env)
    with open(os.path.join(args.out, f'{args.model}_hf.json'), encoding='utf-8') as f:
        hf = json.load(f)
    size = sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder))
    rows = hf['rows']
    return {
        'model_file_command': parlai['command'],
        'parameters': parlai['parameters'],
        'export_seconds': export['seconds'],
        'export_peak_rss_gb': export['peak_gb'],
        'parlai_step_peak_rss_gb': parlai['peak_gb'],
        'hf_step_peak_rss_gb': hf['peak_gb'],
        'hf_load_seconds': hf['load_seconds'],
        'folder_gb': size / 1024**3,
        'contexts': len(rows),
        'ids_equal': all(r['ids_equal'] for r in rows),
        'greedy_equal': all(r['greedy_equal'] for r in rows),
        'texts_equal': all(r['texts_equal'] for r in rows),
        'masks_equal': all(r['masks_equal'] for r in rows),
        'max_logprob_difference': max(r['max_logprob_difference'] for r in rows),
        'reply_tokens': args.reply_tokens,
        'rows': [{k: r[k] for k in ('turns', 'ids_equal', 'greedy_equal',
                                    'max_logprob_difference', 'parlai_text', 'hf_text')}
                 for r in rows],
    }, ' '.join(['python -m parlai_prosocial.export'] + export_argv(args)).replace(
        args.out, 'OUT')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='export_bench')
    parser.add_argument('--models', nargs='+', default=['prost', 'canary'],
                        choices=['prost', 'canary'])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--reply-tokens', type=int, default=8,
                        help='greedy decoding steps compared (ParlAI\'s max_ts)')
    parser.add_argument('--bpe-size', type=int, default=8004)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--small', action='store_true',
                        help='tiny sizes of the same models (the smoke test)')
    parser.add_argument('--step', choices=['parlai', 'export', 'hf'], help=argparse.SUPPRESS)
    parser.add_argument('--model', choices=['prost', 'canary'], help=argparse.SUPPRESS)
    from parlai_prosocial import results as results_file

    results_file.add_output_arguments(parser, 'only OUT/results.json')
    args = parser.parse_args()
    args.out = os.path.abspath(args.out)
    if args.step:  # a step's own process: the measured work
        import torch

        torch.set_num_threads(args.threads)
        return {'parlai': step_parlai, 'export': step_export, 'hf': step_hf}[args.step](args)
    results_file.check_output(parser, args.results, args.overwrite,
                              os.path.join(args.out, 'results.json'))
    # set only once the run is sure to go on (a refused results file leaves the caller's
    # process as it was), and for the steps' processes
    os.environ.update(HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1')
    os.makedirs(args.out, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    numbers, commands = {}, []
    for model in args.models:
        args.model = model
        numbers[model], command = measure(args, env)
        commands.append(command)
    names = {'prost': 'Prost, 2.7B preset (BlenderbotForConditionalGeneration)',
             'canary': 'Canary, T5-large (T5ForConditionalGeneration)'}
    table = {
        'columns': ['model', 'parameters', 'export s', 'export peak RSS GB', 'folder GB',
                    'ids', 'greedy', 'largest Δ log-prob'],
        'align': 'lrrrrrrr',
        'formats': [None, ',d', '.0f', '.1f', '.1f', None, None, '.1e'],
        'rows': [[names[m], n['parameters'], n['export_seconds'],
                  n['export_peak_rss_gb'], n['folder_gb'],
                  'equal' if n['ids_equal'] else 'DIFFER',
                  'equal' if n['greedy_equal'] else 'DIFFER', n['max_logprob_difference']]
                 for m, n in numbers.items()],
    }
    for path in filter(None, [os.path.join(args.out, 'results.json'), args.results]):
        results_file.write(path, 'export', __file__, commands, numbers, {'export': table},
                           seeds=[args.seed])
    print(json.dumps({m: {k: v for k, v in n.items() if k != 'rows'} for m, n in
                      numbers.items()}, indent=1))


if __name__ == '__main__':
    main()
