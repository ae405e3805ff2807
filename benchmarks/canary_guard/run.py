#!/usr/bin/env python
"""
What the Canary guard (``-m canary_guard``) adds to a generator, per turn and per generated token.

    python benchmarks/canary_guard/run.py --size tiny  --out OUT    # tiny models trained first
    python benchmarks/canary_guard/run.py --size paper --out OUT    # the paper's sizes, random weights

The same conversations are played through the bare generator and through the guard around that
very generator object (one copy of the weights in memory), alternating bare / guarded, after one
untimed warm-up pass, ``--repeats`` times; per-turn latency is reported as min / median / max
over the repeats, and the ratio guarded / bare of the medians. Every generation has a fixed
length (min length = max length, greedy): ``--reply-tokens`` for the generator's replies,
``--canary-tokens`` for Canary's label + RoTs, so the ratio cannot depend on how long the replies
happen to be; the generated tokens per turn are read back from ParlAI's ``gen_n_toks`` metric and
recorded. Seeded (``--seed``: weights, sampling-free decoding, the conversation order).

Sizes:

* ``tiny``: ``-o prosocial/tiny_generator`` and a tiny Canary (tiny offline T5), trained first on
  the bundled ProsocialDialog sample (untimed) for ``--train-epochs`` epochs; the conversations are
  the sample's dialogues repeated to ``--conversations``.
* ``paper``: the real architectures with random weights, built offline: the generator from
  ``-o prosocial/pushshift_2.7B`` (PushShift 2.7B / BlenderBot-3B transformer) with a synthetic
  ``--dict-size`` (8,008) token dictionary (the real BPE files are a download), Canary from a
  written-out T5-large ``T5Config`` (``T5_LARGE`` below; weights saved once to ``OUT/t5``). The
  conversations are single turns (first turns of the sample), at most ``--conversations``.
  ``--generator-args``, ``--dict-size`` and ``--t5-config tiny`` scale it down (the smoke test).

Device: CUDA if available (``--device``), else the CPU with ``--threads`` torch threads. The GPU
path is untested: this machine has none. Memory: parameter bytes of each model and the process's
peak RSS (``VmHWM``), and on CUDA ``torch.cuda.max_memory_allocated``.

Writes ``OUT/results.json`` in the results-file format (:mod:`parlai_prosocial.results`);
``--results PATH`` writes it there too (the committed ``benchmarks/canary_guard/results*.json``).
"""

import argparse
import json
import os
import random
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

#: T5-large (Raffel et al. 2020; the ``t5-large`` hub config), written out so nothing is downloaded
T5_LARGE = dict(
    vocab_size=32128,
    d_model=1024,
    d_kv=64,
    d_ff=4096,
    num_layers=24,
    num_decoder_layers=24,
    num_heads=16,
    relative_attention_num_buckets=32,
    relative_attention_max_distance=128,
    dropout_rate=0.1,
    layer_norm_epsilon=1e-6,
    feed_forward_proj='relu',
    tie_word_embeddings=True,
    is_encoder_decoder=True,
)


def _rss_gb(field='VmHWM'):
    with open('/proc/self/status', encoding='utf-8') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024**2
    return None


def _params(module):
    return sum(p.numel() for p in module.parameters())


# --- models ---------------------------------------------------------------------------------------


def train_tiny(out, env, epochs):
    from parlai_prosocial.agents.canary.tiny import build_tiny_t5

    generator = os.path.join(out, 'generator', 'model')
    canary = os.path.join(out, 'canary', 'model')
    commands = [
        ['train_model', '-o', 'prosocial/tiny_generator', '-t', 'prosocial', '-mf', generator,
         '--num-epochs', str(epochs), '--seed', '0'],
        ['train_model', '-o', 'prosocial/tiny_canary', '-t', 'prosocial:safety',
         '--multitask-weights', '1', '--t5-model-arch', os.path.join(out, 't5'), '-mf', canary,
         '--num-epochs', str(epochs), '--seed', '0'],
    ]
    if not os.path.isfile(canary):
        build_tiny_t5(os.path.join(out, 't5'), seed=0)
    for command, model_file in zip(commands, (generator, canary)):
        if not os.path.isfile(model_file):
            result = subprocess.run([sys.executable, '-m', 'parlai'] + command, env=env,
                                    capture_output=True, text=True)
            if result.returncode != 0:
                raise SystemExit(f'training failed: parlai {" ".join(command)}\n'
                                 f'{result.stderr[-2000:]}')
    shown = [' '.join(['parlai'] + c).replace(out, 'OUT') for c in commands]
    return generator, canary, shown


def synthetic_dict(path, size):
    """
    A ParlAI dictionary file of exactly ``size`` tokens: ParlAI's four special tokens, then
    ``w0, w1, ...`` (the architecture's vocabulary size, not a real vocabulary).
    """
    with open(path, 'w', encoding='utf-8') as f:
        for token in ('__null__', '__start__', '__end__', '__unk__'):
            f.write(f'{token}\t1000000000\n')
        for i in range(size - 4):
            f.write(f'w{i}\t{size - i}\n')
    return path


def paper_canary(out, t5_config, seed):
    """
    A Canary model file whose ``--t5-model-arch`` (and weights) is a random T5 of ``t5_config``
    saved to ``OUT/t5`` (with the tiny offline tokenizer: the vocabulary's size is the config's).
    """
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    from parlai_prosocial.agents.canary.tiny import TINY_CONFIG, build_tokenizer, sample_texts

    config = T5_LARGE if t5_config == 'large' else dict(TINY_CONFIG, vocab_size=700)
    t5_dir = os.path.join(out, f't5_{t5_config}')
    if not os.path.isfile(os.path.join(t5_dir, 'config.json')):
        tokenizer = build_tokenizer(sample_texts())
        model_config = T5Config(
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            decoder_start_token_id=tokenizer.pad_token_id,
            **config,
        )
        torch.manual_seed(seed)
        T5ForConditionalGeneration(model_config).save_pretrained(t5_dir)
        tokenizer.save_pretrained(t5_dir)
    model_file = os.path.join(out, f'canary_{t5_config}', 'model')
    os.makedirs(os.path.dirname(model_file), exist_ok=True)
    from parlai.core.params import ParlaiParser

    opt = ParlaiParser(True, True).parse_args(
        ['-m', 'canary', '--t5-model-arch', t5_dir, '-mf', model_file, '--inference', 'greedy']
    )
    if not os.path.isfile(model_file):
        # the agent starts from the T5 directory's weights; the guard takes a saved model file
        from parlai.core.agents import create_agent

        create_agent(opt).save(model_file)
    return model_file, config


def build_agents(args, generator_args, canary_file):
    """
    The guard, and the generator inside it (the bare agent), with fixed generation lengths.
    """
    from parlai.core.agents import create_agent
    from parlai.core.params import ParlaiParser

    # beam search of size 1 is greedy decoding; ParlAI's 'greedy' ignores --beam-min-length
    fixed = f'--inference beam --beam-size 1 --beam-min-length {args.reply_tokens} ' \
            f'--label-truncate {args.reply_tokens} --skip-generation false'
    if args.device == 'cpu':
        fixed += ' --no-cuda'
    guard_args = ['-m', 'canary_guard', '--canary-model-file', canary_file,
                  '--guarded-args', (generator_args['args'] + ' ' + fixed).strip()]
    if generator_args.get('model'):
        guard_args += ['--guarded-model', generator_args['model']]
    if generator_args.get('model_file'):
        guard_args += ['--guarded-model-file', generator_args['model_file']]
    guard = create_agent(ParlaiParser(True, True).parse_args(guard_args))
    canary = guard.canary
    # Canary's label + RoTs: exactly --canary-tokens tokens (HF counts the decoder start token)
    canary.beam_min_length = args.canary_tokens + 1
    canary.label_truncate = args.canary_tokens + 1
    canary.opt['inference'] = 'greedy'
    canary.beam_size = 1
    command = 'parlai eval_model ' + ' '.join(shlex.quote(a) for a in guard_args)
    return guard, guard.generator, command


# --- playing ----------------------------------------------------------------------------------------


def conversations(n, max_turns, seed):
    from parlai_prosocial.testing.samples import prosocial_dialogues

    dialogues = [
        [t['context'] for t in d][:max_turns]
        for split in prosocial_dialogues().values()
        for d in split
    ]
    random.Random(seed).shuffle(dialogues)
    return [dialogues[i % len(dialogues)] for i in range(n)]


def play(agent, convs, batchsize):
    """
    Play ``convs`` through ``agent`` (``observe``/``act`` at batch size 1, as ``interactive``;
    ``batch_act`` over agent copies otherwise, as ``eval_model``). Returns the turns played.
    """
    from parlai.core.agents import create_agent_from_shared
    from parlai.core.message import Message

    copies = [agent] + [create_agent_from_shared(agent.share()) for _ in range(batchsize - 1)]
    turns = 0
    for start in range(0, len(convs), batchsize):
        group = convs[start:start + batchsize]
        for t in range(max(len(c) for c in group)):
            active = [(copies[i], c) for i, c in enumerate(group) if t < len(c)]
            observations = [
                copy.observe(Message({'text': c[t], 'episode_done': t == len(c) - 1}))
                for copy, c in active
            ]
            if batchsize == 1:
                agent.act()  # TorchAgent and the guard self_observe their reply in act()
            else:
                replies = agent.batch_act(observations)
                for (copy, _), reply in zip(active, replies):
                    copy.self_observe(reply)
            turns += len(active)
    return turns


class TokenCounter:
    """
    Counts the decoding steps an agent runs per generated sequence: wraps the instance's
    ``_generate`` (ParlAI's ``TorchGeneratorAgent`` and ``T5Agent``); every token after the start
    token up to and including the end token is one step (one forward pass of the decoder).
    """

    def __init__(self, agent):
        self.tokens = 0
        self.sequences = 0
        self.seconds = 0.0  # inside _generate: encoding and decoding
        self.calls = 0
        generate = agent._generate

        def counting_generate(*args, **kwargs):
            start = time.perf_counter()
            preds, beams = generate(*args, **kwargs)
            self.seconds += time.perf_counter() - start
            self.calls += 1
            for pred in preds:
                tokens = pred[0].tolist()
                # decoding steps: everything after the start token up to the end token (the
                # end token is a step too; a T5 pads after it in a batch)
                steps = 0
                for token in tokens[1:]:
                    steps += 1
                    if token == agent.END_IDX:
                        break
                self.tokens += steps
                self.sequences += 1
            return preds, beams

        agent._generate = counting_generate

    def per_turn(self):
        """
        Tokens per generated sequence since the last call.
        """
        value = self.tokens / self.sequences if self.sequences else None
        self.tokens = self.sequences = 0
        return value

    def take_seconds(self):
        """
        ``(seconds inside _generate, calls)`` since the last call.
        """
        value = (self.seconds, self.calls)
        self.seconds, self.calls = 0.0, 0
        return value


def measure(args, guard, bare, counters, convs, batchsize):
    times = {'bare': [], 'guarded': []}
    tokens = {'bare': None, 'guarded_generator': None, 'canary': None}
    for name, agent in (('bare', bare), ('guarded', guard)):  # warm-up, untimed
        play(agent, convs, batchsize)
    for counter in counters.values():
        counter.per_turn()
        counter.take_seconds()
    generate_ms = {'bare_generator': [], 'guarded_generator': [], 'canary': []}
    canary_calls = []
    for _ in range(args.repeats):
        for name, agent in (('bare', bare), ('guarded', guard)):
            start = time.perf_counter()
            turns = play(agent, convs, batchsize)
            times[name].append(time.perf_counter() - start)
            if name == 'bare':
                tokens['bare'] = counters['generator'].per_turn()
                generate_ms['bare_generator'].append(
                    1000 * counters['generator'].take_seconds()[0] / turns)
            else:
                tokens['guarded_generator'] = counters['generator'].per_turn()  # the same one
                tokens['canary'] = counters['canary'].per_turn()
                generate_ms['guarded_generator'].append(
                    1000 * counters['generator'].take_seconds()[0] / turns)
                seconds, calls = counters['canary'].take_seconds()
                generate_ms['canary'].append(1000 * seconds / turns)
                canary_calls.append(calls)
    per_turn = {k: [1000 * v / turns for v in vs] for k, vs in times.items()}
    bare_ms, guard_ms = statistics.median(per_turn['bare']), statistics.median(per_turn['guarded'])
    return {
        'batchsize': batchsize,
        'turns': turns,
        'seconds': times,
        'ms_per_turn': per_turn,
        'generated_tokens_per_turn': tokens,
        # time inside each model's _generate (encoder + decoding steps), per turn
        'generate_ms_per_turn': generate_ms,
        'canary_generate_calls_per_repeat': canary_calls,
        'ratio_of_medians': guard_ms / bare_ms,
        # the fastest repeat is the least disturbed by other processes on a shared machine
        'ratio_of_minimums': min(per_turn['guarded']) / min(per_turn['bare']),
        'added_ms_per_turn': guard_ms - bare_ms,
        'bare_ms_per_reply_token': bare_ms / tokens['bare'] if tokens['bare'] else None,
        'added_ms_per_canary_token': (
            (guard_ms - bare_ms) / tokens['canary'] if tokens['canary'] else None
        ),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--size', choices=['tiny', 'paper'], default='tiny')
    parser.add_argument('--out', default='guard_bench')
    from parlai_prosocial import results as results_file

    results_file.add_output_arguments(parser, 'only OUT/results.json')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--repeats', type=int, default=None, help='tiny: 5, paper: 3')
    parser.add_argument('--batchsizes', type=int, nargs='+', default=[1, 8])
    parser.add_argument('--conversations', type=int, default=None,
                        help='per batch size; tiny: 48 (1-3 turns each), paper: the batch size')
    parser.add_argument('--reply-tokens', type=int, default=None, help='tiny: 16, paper: 4')
    parser.add_argument('--canary-tokens', type=int, default=None, help='tiny: 12, paper: 4')
    parser.add_argument('--train-epochs', type=int, default=30, help='tiny: training epochs')
    parser.add_argument('--generator-model-file', help='tiny: your generator instead of training one')
    parser.add_argument('--canary-model-file', help='tiny: your Canary instead of training one')
    parser.add_argument('--generator-args', default='-o prosocial/pushshift_2.7B',
                        help='paper: the architecture options of the transformer/generator')
    parser.add_argument('--dict-size', type=int, default=8008)
    parser.add_argument('--t5-config', choices=['large', 'tiny'], default='large')
    parser.add_argument('--device', choices=['auto', 'cpu', 'cuda'], default='auto')
    parser.add_argument('--threads', type=int, default=None, help='CPU torch threads (all cores)')
    args = parser.parse_args()
    results_file.check_output(
        parser, args.results, args.overwrite, os.path.join(args.out, 'results.json')
    )
    paper = args.size == 'paper'
    defaults = {'repeats': (5, 3), 'reply_tokens': (16, 4), 'canary_tokens': (12, 4)}
    for key, (tiny_value, paper_value) in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, paper_value if paper else tiny_value)
    if min(args.reply_tokens, args.canary_tokens, args.repeats, *args.batchsizes) < 1:
        parser.error('--reply-tokens, --canary-tokens, --repeats and --batchsizes must be >= 1')
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)

    import torch

    from parlai_prosocial import results as results_file

    if args.device == 'auto':
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if args.threads:
        torch.set_num_threads(args.threads)
    env = dict(os.environ, OMP_NUM_THREADS='1', HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1')
    os.environ.update(HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1')
    if 'PROSOCIAL_DATA_DIR' not in env:
        from parlai_prosocial.samples import write_sample

        env['PROSOCIAL_DATA_DIR'] = write_sample('prosocial', os.path.join(out, 'sample'))
    commands = []
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    build_start = time.perf_counter()
    if paper:
        canary_file, t5_config = paper_canary(out, args.t5_config, args.seed)
        dict_file = synthetic_dict(os.path.join(out, f'dict_{args.dict_size}'), args.dict_size)
        generator = {
            'model': 'transformer/generator',
            # one string for --guarded-args: the path quoted (a folder name with a space)
            'args': f'{args.generator_args} --dict-file {shlex.quote(dict_file)} '
                    '--dict-tokenizer split --fp16 false',
        }
    else:
        if args.generator_model_file and args.canary_model_file:
            generator_file, canary_file = args.generator_model_file, args.canary_model_file
        else:
            generator_file, canary_file, commands = train_tiny(out, env, args.train_epochs)
            generator_file = args.generator_model_file or generator_file
            canary_file = args.canary_model_file or canary_file
        generator = {'model_file': generator_file, 'args': ''}
        t5_config = None
    torch.manual_seed(args.seed)
    rss_before = _rss_gb('VmRSS')
    guard, bare, command = build_agents(args, generator, canary_file)
    commands.append(command.replace(out, 'OUT') + '   # built in-process by run.py')
    build_seconds = time.perf_counter() - build_start
    memory = {
        'generator_parameters': _params(bare.model),
        'canary_parameters': _params(guard.canary.model),
        'rss_gb_before_models': rss_before,
        'rss_gb_after_models': _rss_gb('VmRSS'),
    }
    memory['generator_fp32_gb'] = 4 * memory['generator_parameters'] / 1024**3
    memory['canary_fp32_gb'] = 4 * memory['canary_parameters'] / 1024**3
    counters = {'generator': TokenCounter(bare), 'canary': TokenCounter(guard.canary)}
    settings = {}
    max_turns = 1 if paper else 3
    for bs in args.batchsizes:
        n = args.conversations or (bs if paper else 48)
        convs = conversations(max(n, bs), max_turns, args.seed)
        if args.device == 'cuda':
            torch.cuda.reset_peak_memory_stats()
        settings[f'batchsize_{bs}'] = result = measure(args, guard, bare, counters, convs, bs)
        if args.device == 'cuda':
            result['cuda_max_memory_gb'] = torch.cuda.max_memory_allocated() / 1024**3
        print(json.dumps({k: v for k, v in result.items() if k != 'seconds'}), flush=True)
    memory['peak_rss_gb'] = _rss_gb('VmHWM')

    def cell(values):
        return results_file.spread(values)

    latency_rows, token_rows, inside_rows = [], [], []
    for name, r in settings.items():
        t = r['generated_tokens_per_turn']
        latency_rows.append([
            f"batch size {r['batchsize']} ({'observe/act' if r['batchsize'] == 1 else 'batch_act'})",
            r['turns'], cell(r['ms_per_turn']['bare']), cell(r['ms_per_turn']['guarded']),
            r['ratio_of_medians'], r['ratio_of_minimums'], r['added_ms_per_turn'],
        ])
        g = r['generate_ms_per_turn']
        inside_rows.append([
            f"batch size {r['batchsize']}", cell(g['bare_generator']), cell(g['canary']),
            r['canary_generate_calls_per_repeat'][0] / r['turns'],
        ])
        token_rows.append([
            f"batch size {r['batchsize']}", t['bare'], t['guarded_generator'], t['canary'],
            r['bare_ms_per_reply_token'], r['added_ms_per_canary_token'],
        ])
    if paper:
        model_names = (f'transformer/generator {args.generator_args}, random weights, '
                       f'{args.dict_size:,}-token synthetic dictionary',
                       f'Canary: T5-{args.t5_config} from a written T5Config, random weights')
    else:
        model_names = ('tiny_generator (trained on the sample)',
                       'tiny Canary (tiny T5 trained on the sample)')
    tables = {
        'latency': results_file.table(
            ['setting', 'turns', 'bare ms/turn', 'guarded ms/turn', 'ratio of medians',
             'ratio of minimums', 'added ms/turn (medians)'],
            latency_rows, formats=[None, None, '.1f', '.1f', '.2f', '.2f', '.1f']),
        'tokens': results_file.table(
            ['setting', 'reply tokens/turn (bare)', 'reply tokens/turn (guarded)',
             'Canary tokens/turn', 'bare ms per reply token', 'added ms per Canary token'],
            token_rows, formats=[None, '.1f', '.1f', '.1f', '.1f', '.1f']),
        'inside': results_file.table(
            ['setting', 'generator: ms/turn in generation', 'Canary: ms/turn in generation',
             'Canary generate calls per turn'],
            inside_rows, formats=[None, '.1f', '.1f', '.2f']),
        'memory': results_file.table(
            ['model', 'parameters', 'fp32 weights (GB)'],
            [[model_names[0], memory['generator_parameters'], memory['generator_fp32_gb']],
             [model_names[1], memory['canary_parameters'], memory['canary_fp32_gb']],
             ['process peak RSS, both models loaded and run (GB)', None, memory['peak_rss_gb']]],
            formats=[None, None, '.2f']),
        'setup': results_file.table(
            ['device', 'torch threads', 'repeats', 'seed', 'fixed reply tokens',
             'fixed Canary tokens'],
            [[args.device, torch.get_num_threads(), args.repeats, args.seed, args.reply_tokens,
              args.canary_tokens]]),
    }
    numbers = {
        'size': args.size, 'device': args.device, 'settings': settings, 'memory': memory,
        'build_seconds': build_seconds, 't5_config': t5_config,
        'reply_tokens': args.reply_tokens, 'canary_tokens': args.canary_tokens,
        'repeats': args.repeats, 'torch_threads': torch.get_num_threads(),
        'guard_actions_note': 'with random or tiny weights Canary rarely emits a label token, so '
                              'most turns pass unsteered; steering only adds the RoTs to the '
                              "generator's context for that turn",
    }
    written = results_file.write(
        os.path.join(out, 'results.json'), name=f'canary_guard_{args.size}', script=__file__,
        commands=commands, numbers=numbers, tables=tables, seeds=[args.seed],
    )
    results_file.publish(written, args.results)


if __name__ == '__main__':
    main()
