#!/usr/bin/env python
"""
§6.2 of the ProsocialDialog paper in its own setting (App. D.2): a pre-trained language model
prompted with and without Canary's RoTs, on test dialogues Canary predicts not to be casual.

    python projects/prosocial_dialog/steering/reproduce.py --out OUT \
        --canary-model-file zoo:canary/model --model-name gpt2-xl [--n 600] [--prosocial-data-dir DIR]

1. Canary reads the opening turn of every ProsocialDialog test dialogue (the paper: "we sample 600
   dialogues from the ProsocialDialog test set that Canary predicts not to be casual"); its RoTs are
   *sampled* ("we first sample relevant RoTs r from Canary"), nucleus 0.9, seeded per context
   (``--seed``), as ``-m canary_guard`` does by default.
2. ``--n`` of the non-casual dialogues are drawn (seeded; all of them when there are fewer).
3. The language model (ParlAI's ``hugging_face/gpt2`` with ``--model-name``: a hub name or a local
   directory) continues the paper's two prompts for each: P_0 (the plain dialogue prompt) and P_r
   (P_0 with "Speaker 2 is trying to gently explain {r}."); the reply is the continuation up to its
   first line break or "Speaker N:".
4. Writes ``OUT/pairs.jsonl`` (one line per dialogue: context, Canary's label and RoTs, both
   prompts, both replies) for the paper's human evaluation (which reply is more prosocial, engaged,
   respectful, coherent, overall), and ``OUT/results.json`` (counts and the commands; results-file
   format of :mod:`parlai_prosocial.results`).

GPT-3 and Instruct GPT-3 (the paper's models) are hosted APIs, not ParlAI models, and the human
judgements cannot be computed: this recipe produces what the judges were shown, for any ParlAI
GPT-2 model. Without ``--canary-model-file`` / ``--model-name`` (the offline default) it trains a
tiny Canary on the bundled sample and uses a tiny random GPT-2, so the pairs show the pipeline
runs, not the paper's effect.
"""

import argparse
import json
import os
import random
import subprocess
import sys

from parlai_prosocial.formats import CASUAL

HERE = os.path.dirname(os.path.abspath(__file__))


def test_openings(prosocial_data_dir, split='test'):
    """
    ``(dialogue_id, opening turn)`` of every ProsocialDialog dialogue of ``split``, in file order.
    """
    from parlai_prosocial import testing

    datatype = 'train:evalmode' if split == 'train' else split
    teacher = testing.create_teacher('prosocial', datatype, prosocial_data_dir=prosocial_data_dir)
    openings = []
    for message in testing.one_epoch(teacher):
        if message.get('response_id', 0) == 0:
            openings.append((message['dialogue_id'], message['text']))
    return openings


def tiny_models(out, env, epochs=150):
    """
    The offline stand-ins: a tiny Canary trained on the sample, a tiny random GPT-2.
    """
    from parlai_prosocial.agents.canary.tiny import build_tiny_t5
    from parlai_prosocial.baselines.tiny_gpt2 import build_tiny_gpt2

    canary = os.path.join(out, 'canary', 'model')
    command = [sys.executable, '-m', 'parlai', 'train_model', '-o', 'prosocial/tiny_canary',
               '-t', 'prosocial:safety', '--multitask-weights', '1',
               '--t5-model-arch', build_tiny_t5(os.path.join(out, 'tiny_t5')), '-mf', canary,
               '--num-epochs', str(epochs)]
    if not os.path.isfile(canary):
        with open(os.path.join(out, 'train_canary.log'), 'w', encoding='utf-8') as log:
            subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT, env=env,
                           cwd=out)
    shown = ' '.join(['parlai'] + command[3:]).replace(out, 'OUT')
    return canary, build_tiny_gpt2(os.path.join(out, 'tiny_gpt2')), [shown]


def generate(generator, prompts):
    """
    The language model's reply to each prompt (a fresh episode each).
    """
    from parlai.core.message import Message

    from parlai_prosocial.agents.canary_guard import lm_reply

    replies = []
    for prompt in prompts:
        generator.observe(Message({'text': prompt, 'episode_done': True}))
        replies.append(lm_reply(generator.act().get('text', '')))
        generator.reset()
    return replies


def run(args):
    from parlai.core.agents import create_agent
    from parlai.core.params import ParlaiParser

    from parlai_prosocial.agents.canary import load_canary
    from parlai_prosocial.agents.canary_guard import lm_prompt

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    env = dict(os.environ)
    if args.prosocial_data_dir:
        env['PROSOCIAL_DATA_DIR'] = args.prosocial_data_dir
    commands = []
    canary_file, model_name = args.canary_model_file, args.model_name
    if not canary_file or not model_name:
        tiny_canary, tiny_gpt2, commands = tiny_models(out, env, args.canary_epochs)
        canary_file, model_name = canary_file or tiny_canary, model_name or tiny_gpt2

    # the language model first: a missing one stops the run before any work
    parser = ParlaiParser(True, True)
    try:
        generator = create_agent(parser.parse_args(
            ['-m', 'hugging_face/gpt2', '--model-name', model_name, '--datapath', args.datapath,
             '--inference', args.inference, '--topp', str(args.topp), '--label-truncate',
             str(args.max_tokens), '--skip-generation', 'false', '--add-special-tokens', 'true']
        ))
    except OSError as error:  # HF's: offline and not in its cache, or no such model
        from parlai_prosocial.errors import ModelFileError

        reason = ' '.join(str(error).split())[:300]
        raise ModelFileError(
            f'--model-name {model_name}: cannot load this GPT-2 ({reason}); without the '
            'network, save it once where there is one (save_pretrained of the model and its '
            'tokenizer) and give that directory to --model-name'
        ) from None

    openings = test_openings(args.prosocial_data_dir or os.environ.get('PROSOCIAL_DATA_DIR'),
                             args.split)
    canary = load_canary(canary_file, inference='nucleus', topp=args.topp, beam_size=1,
                         datapath=args.datapath)
    decisions = canary.classify_batch([text for _, text in openings], seed=args.seed)
    candidates = [(did, text, label, rots)
                  for (did, text), (label, rots) in zip(openings, decisions)
                  if label and label != CASUAL]
    chosen = sorted(random.Random(args.seed).sample(candidates, min(args.n, len(candidates))),
                    key=lambda c: candidates.index(c))

    plain_prompts = [lm_prompt([text]) for _, text, _, _ in chosen]
    rot_prompts = [lm_prompt([text], rots or None) for _, text, _, rots in chosen]
    import torch

    torch.manual_seed(args.seed)
    plain = generate(generator, plain_prompts)
    steered = generate(generator, rot_prompts)

    with open(os.path.join(out, 'pairs.jsonl'), 'w', encoding='utf-8') as f:
        for (did, text, label, rots), p0, u0, pr, ur in zip(chosen, plain_prompts, plain,
                                                             rot_prompts, steered):
            f.write(json.dumps(dict(dialogue_id=did, context=text, safety_label=label, rots=rots,
                                    prompt_plain=p0, reply_plain=u0, prompt_rots=pr,
                                    reply_rots=ur)) + '\n')
    numbers = dict(test_dialogues=len(openings), non_casual=len(candidates), sampled=len(chosen),
                   with_rots=sum(bool(r) for _, _, _, r in chosen),
                   replies_differ=sum(a != b for a, b in zip(plain, steered)))
    commands.append(' '.join(['python', os.path.relpath(__file__)] + sys.argv[1:]))
    return out, commands, numbers


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', required=True)
    parser.add_argument('--canary-model-file', help='default: a tiny Canary trained here')
    parser.add_argument('--model-name', help='the LM (hub name or GPT-2 directory); default tiny')
    parser.add_argument('--prosocial-data-dir', help='default: $PROSOCIAL_DATA_DIR or download')
    parser.add_argument('--datapath', default=os.path.join(os.path.expanduser('~'), '.parlai'))
    parser.add_argument('--n', type=int, default=600, help='dialogues (the paper: 600)')
    parser.add_argument('--split', default='test', choices=['train', 'valid', 'test'],
                        help='the dialogues (the paper: test)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--topp', type=float, default=0.9)
    parser.add_argument('--inference', default='nucleus', help='the LM\'s decoding')
    parser.add_argument('--max-tokens', type=int, default=40)
    parser.add_argument('--canary-epochs', type=int, default=150, help='the tiny Canary (offline)')
    from parlai_prosocial import results

    results.add_output_arguments(parser, 'only OUT/results.json')
    args = parser.parse_args(argv)
    results.check_output(
        parser, args.results, args.overwrite, os.path.join(args.out, 'results.json')
    )

    out, commands, numbers = run(args)
    table = results.table(
        [f'{args.split} dialogues', 'Canary: not casual', 'sampled', 'with RoTs', 'replies differ'],
        [[numbers['test_dialogues'], numbers['non_casual'], numbers['sampled'],
          numbers['with_rots'], numbers['replies_differ']]],
        align='rrrrr',
    )
    written = results.write(os.path.join(out, 'results.json'), 'steering', __file__, commands,
                            numbers, {'steering': table}, seeds=[args.seed])
    results.publish(written, args.results)
    print(f'results.json, pairs.jsonl and the tiny models in {out}')
    return written


if __name__ == '__main__':
    main()
