"""
Test and demo infrastructure: a tiny T5 (model + tokenizer) built offline, in a second.

Canary is T5-large from the HF hub; the tests and the quickstart cannot download it, so they build
a randomly initialised T5 a few hundred kilobytes large whose tokenizer is trained on the spot on
the bundled ProsocialDialog sample, and pass its directory as ``--t5-model-arch DIR``::

    python -m parlai_prosocial.agents.canary.tiny /tmp/t5
    parlai train_model -o prosocial/tiny_canary -t prosocial:safety --multitask-weights 1 \
        --t5-model-arch /tmp/t5 -mf m

The ``tiny_canary`` and ``tiny_cosmo`` presets name this model as ``--t5-model-arch
parlai_prosocial/tiny-t5``, built into the datapath on first use (``parlai_prosocial.options``);
their paper-shaped mixtures need the offline data of ``python -m parlai_prosocial.offline_data``.

It is *not* a pretrained model and says nothing about Canary's quality: it only lets the real code
paths (ParlAI's T5 agent, HF loading from a directory, generation, parsing) run without a network.

The tokenizer mirrors T5's SentencePiece set-up with the ``tokenizers`` library: a BPE over
printable ASCII with the ``▁`` (Metaspace) word marker, ``<pad>`` = 0, ``</s>`` = 1 appended to
every text, ``<unk>`` = 2, no ``<extra_id_*>`` sentinels. Like T5-large's, its vocabulary does not
hold the safety labels: Canary adds them as special tokens and grows the embeddings
(:mod:`.agents`), so the tiny model goes through that path too.
"""

import os
import string

from parlai_prosocial.formats import safety_target
from parlai_prosocial.samples import prosocial_rows

PAD, EOS, UNK = '<pad>', '</s>', '<unk>'

#: the default size of the tiny model (T5Config arguments)
TINY_CONFIG = dict(
    d_model=32,
    d_kv=16,
    d_ff=64,
    num_layers=1,
    num_decoder_layers=1,
    num_heads=2,
    relative_attention_num_buckets=8,
    relative_attention_max_distance=32,
    dropout_rate=0.0,
)


def sample_texts():
    """
    Every context, reply and Canary target of the bundled sample (all splits).
    """
    for turn in prosocial_rows():
        yield turn['context']
        yield turn['response']
        yield safety_target(turn['safety_label'], turn['rots'] or [])


def build_tokenizer(texts, vocab_size=600):
    """
    A ``T5TokenizerFast`` trained on ``texts`` (see the module docstring for its layout).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from tokenizers import trainers
    from transformers import T5TokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token=UNK))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement='▁', add_prefix_space=True)
    tokenizer.decoder = decoders.Metaspace(replacement='▁', add_prefix_space=True)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, EOS, UNK],
        initial_alphabet=list(string.printable),
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(texts), trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f'$A {EOS}',
        pair=f'$A {EOS} $B {EOS}',
        special_tokens=[(EOS, tokenizer.token_to_id(EOS))],
    )
    return T5TokenizerFast(
        tokenizer_object=tokenizer,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        extra_ids=0,
        model_max_length=512,
    )


def build_tiny_t5(directory, texts=None, seed=0, **config_overrides):
    """
    Write a tiny random ``T5ForConditionalGeneration`` and its tokenizer to ``directory`` (the
    layout of ``save_pretrained``, loadable with ``--t5-model-arch DIR``); return ``directory``.
    """
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    tokenizer = build_tokenizer(sample_texts() if texts is None else texts)
    config = T5Config(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
        **dict(TINY_CONFIG, **config_overrides),
    )
    torch.manual_seed(seed)
    model = T5ForConditionalGeneration(config)
    os.makedirs(directory, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


if __name__ == '__main__':
    import argparse

    parser = argparse.ArgumentParser(
        description='Write a tiny random T5 + tokenizer (tests and demos only, not a real model).'
    )
    parser.add_argument('directory')
    args = parser.parse_args()
    print(build_tiny_t5(args.directory))
