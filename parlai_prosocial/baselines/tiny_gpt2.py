"""
A tiny GPT-2 (model + tokenizer) built offline, for tests: ParlAI's ``hugging_face/gpt2`` agent
loads it with ``--model-name DIR`` (ParlAI reads that option as a HF name or a local directory).

    python -m parlai_prosocial.baselines.tiny_gpt2 /tmp/gpt2
    parlai train_model -o prosocial/table2_gpt2 --model-name /tmp/gpt2 ...

A randomly initialised ``GPT2Model`` a few hundred kilobytes large and a byte-level BPE tokenizer
trained on the bundled ProsocialDialog sample (``vocab.json``, ``merges.txt``, with GPT-2's
``<|endoftext|>``): not a pretrained model, only the real code path without a network.
"""

import json
import os

from parlai_prosocial.samples import prosocial_rows

ENDOFTEXT = '<|endoftext|>'

TINY_CONFIG = dict(n_positions=512, n_embd=32, n_layer=1, n_head=2, resid_pdrop=0.0,
                   embd_pdrop=0.0, attn_pdrop=0.0)


def sample_texts():
    for turn in prosocial_rows():
        yield ' '.join([turn['context'], turn['response']] + (turn['rots'] or []))


def build_tiny_gpt2(directory, texts=None, seed=0, vocab_size=400, **config_overrides):
    """
    Write a tiny random GPT-2 and its tokenizer to ``directory`` (``save_pretrained`` layout);
    return ``directory``.
    """
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2Model

    os.makedirs(directory, exist_ok=True)
    tokenizer = ByteLevelBPETokenizer()
    tokenizer.train_from_iterator(
        list(sample_texts() if texts is None else texts) * 2, vocab_size=vocab_size,
        min_frequency=1, special_tokens=[ENDOFTEXT], show_progress=False,
    )
    tokenizer.save_model(directory)
    with open(os.path.join(directory, 'vocab.json'), encoding='utf-8') as f:
        size = len(json.load(f))
    config = GPT2Config(vocab_size=size, bos_token_id=0, eos_token_id=0,
                        **dict(TINY_CONFIG, **config_overrides))
    torch.manual_seed(seed)
    GPT2Model(config).save_pretrained(directory, safe_serialization=False)
    return directory


if __name__ == '__main__':
    import argparse

    parser = argparse.ArgumentParser(description='Write a tiny random GPT-2 + tokenizer (tests).')
    parser.add_argument('directory')
    print(build_tiny_gpt2(parser.parse_args().directory))
