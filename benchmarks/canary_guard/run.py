#!/usr/bin/env python
"""
The Canary guard's overhead: the same conversations through a bare generator and through
``-m canary_guard`` around it, in one run, on CPU; prints and writes the time ratio.

    python benchmarks/canary_guard/run.py --out /tmp/guard_bench [--conversations 96]

Models: unless given (``--generator-model-file``, ``--canary-model-file``), a tiny
``transformer/generator`` (``-o prosocial/tiny_generator``) and a tiny Canary (tiny offline T5,
``-o prosocial/tiny_canary``) are trained first on the bundled ProsocialDialog sample (not timed).
Conversations: the sample's dialogues (all splits; 1-3 turns each) repeated to ``--conversations``;
each is played turn by turn with batch size 1 (``observe``/``act``, as ``interactive`` does), then
in batches of ``--batchsize`` (``batch_act`` over conversation copies, as ``eval_model`` does).
Each setting runs ``--repeats`` times alternating bare/guarded; the median is reported.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def train(out, env):
    from parlai_prosocial.agents.canary.tiny import build_tiny_t5

    generator = os.path.join(out, 'generator', 'model')
    canary = os.path.join(out, 'canary', 'model')
    if not os.path.isfile(generator):
        subprocess.run([sys.executable, '-m', 'parlai', 'train_model', '-o',
                        'prosocial/tiny_generator', '-t', 'prosocial', '-mf', generator,
                        '--num-epochs', '30'], env=env, check=True, capture_output=True)
    if not os.path.isfile(canary):
        t5 = build_tiny_t5(os.path.join(out, 't5'))
        subprocess.run([sys.executable, '-m', 'parlai', 'train_model', '-o',
                        'prosocial/tiny_canary', '-t', 'prosocial:safety', '--t5-model-arch', t5,
                        '-mf', canary, '--num-epochs', '150'], env=env, check=True,
                       capture_output=True)
    return generator, canary


def conversations(n):
    from parlai_prosocial.tasks.prosocial.sample import SAMPLE

    dialogues = [[t['context'] for t in d] for split in SAMPLE.values() for d in split]
    return [dialogues[i % len(dialogues)] for i in range(n)]


def play(agent, convs, batchsize):
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
                agent.act()
            else:
                replies = agent.batch_act(observations)
                for (copy, _), reply in zip(active, replies):
                    copy.self_observe(reply)
            turns += len(active)
    return turns


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='guard_bench')
    parser.add_argument('--generator-model-file')
    parser.add_argument('--canary-model-file')
    parser.add_argument('--conversations', type=int, default=96)
    parser.add_argument('--batchsize', type=int, default=8)
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS='1', HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1')
    if 'PROSOCIAL_DATA_DIR' not in env:
        from parlai_prosocial.tasks.prosocial.sample import write_sample

        env['PROSOCIAL_DATA_DIR'] = write_sample(os.path.join(args.out, 'sample'), 'hf')
    generator, canary = args.generator_model_file, args.canary_model_file
    if not (generator and canary):
        trained = train(os.path.abspath(args.out), env)
        generator, canary = generator or trained[0], canary or trained[1]

    import torch
    from parlai.core.agents import create_agent, create_agent_from_model_file
    from parlai.core.params import ParlaiParser

    torch.set_num_threads(1)
    bare = create_agent_from_model_file(generator)
    guard = create_agent(ParlaiParser(True, True).parse_args(
        ['-m', 'canary_guard', '--guarded-model-file', generator, '--canary-model-file', canary]))
    convs = conversations(args.conversations)
    results = {'conversations': len(convs), 'generator': generator, 'canary': canary,
               'torch_threads': 1, 'settings': {}}
    for bs in (1, args.batchsize):
        times = {'bare': [], 'guarded': []}
        for _ in range(args.repeats):
            for name, agent in (('bare', bare), ('guarded', guard)):
                start = time.perf_counter()
                turns = play(agent, convs, bs)
                times[name].append(time.perf_counter() - start)
        bare_s, guard_s = statistics.median(times['bare']), statistics.median(times['guarded'])
        results['settings'][f'batchsize_{bs}'] = {
            'turns': turns,
            'bare_seconds': bare_s,
            'guarded_seconds': guard_s,
            'bare_ms_per_turn': 1000 * bare_s / turns,
            'guarded_ms_per_turn': 1000 * guard_s / turns,
            'ratio': guard_s / bare_s,
            'all_seconds': times,
        }
        print(f'batchsize {bs}: {turns} turns, bare {1000 * bare_s / turns:.1f} ms/turn, '
              f'guarded {1000 * guard_s / turns:.1f} ms/turn, ratio {guard_s / bare_s:.2f}x',
              flush=True)
    with open(os.path.join(args.out, 'results.json'), 'w') as f:
        json.dump(results, f, indent=2)


if __name__ == '__main__':
    main()
