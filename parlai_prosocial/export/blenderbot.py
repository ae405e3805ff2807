"""
ParlAI's ``transformer/generator`` (and Prost) as transformers' Blenderbot.

The anchor is transformers' ``convert_blenderbot_original_pytorch_checkpoint_to_pytorch.py`` (how
``facebook/blenderbot-3B`` was made from ParlAI's checkpoint): the weights are renamed, not changed.
What that script leaves to a hand-written ``config.json`` is read here from the model's options:

================================  ==========================================================
ParlAI option                     BlenderbotConfig
================================  ==========================================================
``--variant prelayernorm``        Blenderbot's layers (layer norm before each block, one after
                                  the stack); ``aiayn``/``xlm``/``bart`` are refused
``--embedding-size``              ``d_model``
``--n-encoder-layers`` /          ``encoder_layers`` / ``decoder_layers`` (``--n-layers`` when
``--n-decoder-layers``            they are -1)
``--n-heads``, ``--ffn-size``     ``*_attention_heads``, ``*_ffn_dim``
``--activation gelu|relu``        ``activation_function`` (ParlAI's gelu is the erf one, HF's
                                  ``gelu``)
``--n-positions``                 ``max_position_embeddings`` (the rows of the position table)
``--learn-positional-embeddings`` learned: copied; false: ParlAI's sinusoidal table (saved in
                                  the checkpoint) is copied into Blenderbot's learned table
``--embeddings-scale``            ``scale_embedding`` (both multiply by sqrt(d_model))
``--output-scaling``              folded into the encoder's last layer norm (ParlAI multiplies
                                  the encoder's output by it)
``--dropout``,                    ``dropout``, ``attention_dropout``, ``activation_dropout``
``--attention-dropout``,          (fine-tuning only)
``--relu-dropout``
dictionary size                   ``vocab_size`` (the embedding rows, ``__FP16_PAD_i__`` too)
``__null__``/``__start__``/       ``pad_token_id``, ``bos_token_id`` = ``decoder_start_token_id``,
``__end__``                       ``eos_token_id``
shared embeddings                 ParlAI's generator always ties encoder, decoder and output
                                  embeddings: ``shared`` and the tied ``lm_head``
================================  ==========================================================

ParlAI sets the ``__start__`` logit to -1e20 at every step (``TransformerGeneratorModel.output``:
the model must never emit it). Blenderbot adds ``final_logits_bias`` to its logits: the export
puts that -1e20 there, so the HF model's scores equal ParlAI's in every column, that one too.
BlenderbotConfig's generation defaults (``encoder_no_repeat_ngram_size=3``) are not ParlAI's and
are replaced by the model's own decoding options (:func:`generation_config`).
"""

import os

from parlai_prosocial.errors import ExportError

#: ParlAI's -inf for float32 logits (``parlai.utils.torch.neginf``)
NEAR_INF = 1e20

#: ParlAI option -> HF ``activation_function``
ACTIVATIONS = {'gelu': 'gelu', 'relu': 'relu'}


def _layers(opt, side):
    n = opt.get(f'n_{side}_layers')
    return n if n is not None and n > 0 else opt['n_layers']


def check_architecture(opt):
    """
    :class:`ExportError` for a ``transformer/generator`` Blenderbot cannot compute.
    """
    variant = opt.get('variant') or 'aiayn'
    if variant != 'prelayernorm':
        raise ExportError(
            f'--variant {variant}: Blenderbot computes the prelayernorm transformer (the '
            'BlenderBot / PushShift and tiny presets\' variant) only; this model has another '
            'order of layer norms'
        )
    activation = opt.get('activation') or 'relu'
    if activation not in ACTIVATIONS:
        raise ExportError(f'--activation {activation}: Blenderbot knows {", ".join(ACTIVATIONS)}')
    if (opt.get('n_segments') or 0) > 0:
        raise ExportError(f'--n-segments {opt["n_segments"]}: Blenderbot has no segment embeddings')
    for option, value in (('person_tokens', True), ('history_reversed', True)):
        if opt.get(option) == value:
            raise ExportError(
                f'--{option.replace("_", "-")} true: the exported input format (the folder\'s '
                'README and helper) covers ParlAI\'s default history only'
            )


def blenderbot_config(opt, dictionary, n_positions, dtype):
    from transformers import BlenderbotConfig

    check_architecture(opt)
    return BlenderbotConfig(
        vocab_size=len(dictionary),
        max_position_embeddings=n_positions,
        d_model=opt['embedding_size'],
        encoder_layers=_layers(opt, 'encoder'),
        decoder_layers=_layers(opt, 'decoder'),
        encoder_attention_heads=opt['n_heads'],
        decoder_attention_heads=opt['n_heads'],
        encoder_ffn_dim=opt['ffn_size'],
        decoder_ffn_dim=opt['ffn_size'],
        activation_function=ACTIVATIONS[opt.get('activation') or 'relu'],
        dropout=opt.get('dropout') or 0.0,
        attention_dropout=opt.get('attention_dropout') or 0.0,
        activation_dropout=opt.get('relu_dropout') or 0.0,
        scale_embedding=bool(opt.get('embeddings_scale', True)),
        pad_token_id=dictionary.tok2ind[dictionary.null_token],
        bos_token_id=dictionary.tok2ind[dictionary.start_token],
        eos_token_id=dictionary.tok2ind[dictionary.end_token],
        decoder_start_token_id=dictionary.tok2ind[dictionary.start_token],
        forced_eos_token_id=dictionary.tok2ind[dictionary.end_token],
        encoder_no_repeat_ngram_size=0,
        torch_dtype=str(dtype).replace('torch.', ''),
    )


def _parlai_to_hf(side, rest):
    """
    The HF name of ParlAI's ``{side}.{rest}`` weight (``side``: encoder / decoder), or None.
    """
    if rest == 'position_embeddings.weight':
        return f'model.{side}.embed_positions.weight'
    if rest.startswith('norm_embeddings.'):
        return f'model.{side}.layer_norm.' + rest.split('.', 1)[1]
    if not rest.startswith('layers.'):
        return None
    _, number, name = rest.split('.', 2)
    module, param = name.rsplit('.', 1)
    attention = {'attention': 'self_attn', 'self_attention': 'self_attn',
                 'encoder_attention': 'encoder_attn'}
    projections = {'q_lin': 'q_proj', 'k_lin': 'k_proj', 'v_lin': 'v_proj', 'out_lin': 'out_proj'}
    norms = {
        'encoder': {'norm1': 'self_attn_layer_norm', 'norm2': 'final_layer_norm'},
        'decoder': {'norm1': 'self_attn_layer_norm', 'norm2': 'encoder_attn_layer_norm',
                    'norm3': 'final_layer_norm'},
    }
    head, _, tail = module.partition('.')
    if head in attention and tail in projections:
        hf = f'{attention[head]}.{projections[tail]}'
    elif head == 'ffn' and tail in ('lin1', 'lin2'):
        hf = 'fc' + tail[-1]
    elif not tail and head in norms[side]:
        hf = norms[side][head]
    else:
        return None
    return f'model.{side}.layers.{number}.{hf}.{param}'


def blenderbot_state_dict(parlai_state, opt, start_idx):
    """
    The Blenderbot weights of a ParlAI ``TransformerGeneratorModel`` state dict (the tensors
    themselves, renamed; the tied embedding once, as ``save_pretrained`` writes it).
    """
    import torch

    embeddings = parlai_state['embeddings.weight']
    state = {'model.shared.weight': embeddings}
    unknown = []
    for key, tensor in parlai_state.items():
        if key in ('START', 'embeddings.weight'):
            continue
        side, _, rest = key.partition('.')
        if rest == 'embeddings.weight' and side in ('encoder', 'decoder'):
            if not torch.equal(tensor, embeddings):
                raise ExportError(
                    f'{key} differs from embeddings.weight: Blenderbot ties the encoder\'s, the '
                    'decoder\'s and the output embeddings'
                )
            continue
        name = _parlai_to_hf(side, rest) if side in ('encoder', 'decoder') else None
        if name is None:
            unknown.append(key)
            continue
        state[name] = tensor
    if unknown:
        raise ExportError(
            f'the checkpoint holds weights Blenderbot has no place for: {", ".join(unknown[:5])}'
            + (' ...' if len(unknown) > 5 else '')
        )
    scaling = opt.get('output_scaling', 1.0)
    if scaling is not None and scaling != 1.0:
        for param in ('weight', 'bias'):
            name = f'model.encoder.layer_norm.{param}'
            state[name] = state[name] * scaling
    bias = torch.zeros((1, embeddings.shape[0]), dtype=embeddings.dtype)
    bias[0, start_idx] = -NEAR_INF
    state['final_logits_bias'] = bias
    return state


def check_complete(state, config):
    """
    :class:`ExportError` unless ``state`` holds every weight of a Blenderbot of ``config``, of
    its shape (checked on an empty model: nothing allocated).
    """
    import torch
    from transformers import BlenderbotForConditionalGeneration

    with torch.device('meta'):
        model = BlenderbotForConditionalGeneration(config)
    tied = {'lm_head.weight', 'model.encoder.embed_tokens.weight',
            'model.decoder.embed_tokens.weight'}
    expected = {k: v.shape for k, v in model.state_dict().items() if k not in tied}
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    wrong = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k])]
    if missing or extra or wrong:
        raise ExportError(
            'the renamed weights do not fit Blenderbot: '
            f'missing {missing[:3]}, unexpected {extra[:3]}, wrong shape {wrong[:3]}'
        )


def generation_config(opt, config):
    """
    The model's ParlAI decoding (``--inference``, ``--beam-size``, ``--beam-min-length``, n-gram
    blocking, ``--label-truncate``) as HF's ``GenerationConfig``. Greedy decoding is ParlAI's
    exactly (the parity tests); beam search has ParlAI's settings but HF's length penalty
    (``len ** p``, ParlAI's is ``((5 + len) / 6) ** p``), and Prost's per-segment minimum length
    and blocking (``--prost-reply-search``) count the whole output in HF.
    """
    from transformers import GenerationConfig

    from . import label_truncate

    method = opt.get('inference') or 'greedy'
    settings = dict(
        decoder_start_token_id=config.decoder_start_token_id,
        bos_token_id=config.bos_token_id,
        eos_token_id=config.eos_token_id,
        pad_token_id=config.pad_token_id,
        # TorchGeneratorAgent: label_truncate or 256 steps, and a reply still unfinished then
        # gets __end__ as its last token (TreeSearch.get_rescored_finished)
        max_new_tokens=label_truncate(opt) or 256,
        forced_eos_token_id=config.eos_token_id,
        min_new_tokens=max(opt.get('beam_min_length') or 0, 0) or None,
        num_beams=1 if method in ('greedy', 'topk', 'nucleus') else opt.get('beam_size') or 1,
        do_sample=method in ('topk', 'nucleus'),
        no_repeat_ngram_size=max(opt.get('beam_block_ngram') or 0, 0),
        encoder_no_repeat_ngram_size=max(opt.get('beam_context_block_ngram') or 0, 0),
    )
    if settings['num_beams'] > 1:
        settings['length_penalty'] = opt.get('beam_length_penalty', 0.65)
        settings['early_stopping'] = True
    if method == 'topk':
        settings.update(top_k=opt.get('topk', 10), temperature=opt.get('temperature', 1.0))
    elif method == 'nucleus':
        settings.update(top_p=opt.get('topp', 0.9), top_k=0,
                        temperature=opt.get('temperature', 1.0))
    return GenerationConfig(**settings), method


def parlai_dictionary(opt, model_file):
    """
    The dictionary the ParlAI agent builds for ``model_file`` (the agent's own
    ``build_dictionary``, its special tokens and fp16 padding included), without its model.
    """
    from parlai.core.loader import load_agent_module

    from parlai_prosocial.parlai_internals import check_relied_on

    check_relied_on('parlai.core.torch_agent:TorchAgent.__init__',
                    'parlai.core.torch_agent:TorchAgent.build_dictionary')
    agent_class = load_agent_module(opt['model'])
    opt = dict(opt)
    if os.path.isfile(model_file + '.dict'):
        opt['dict_file'] = model_file + '.dict'
    bare = agent_class.__new__(agent_class)
    bare.opt = opt
    dictionary = bare.build_dictionary()
    if opt.get('fp16') or opt.get('force_fp16_tokens'):  # as TorchAgent.__init__ pads it
        from parlai.utils.torch import FP16_PAD_SIZE

        if len(dictionary) % FP16_PAD_SIZE != 0:
            for i in range(FP16_PAD_SIZE - len(dictionary) % FP16_PAD_SIZE):
                dictionary['__FP16_PAD_{}__'.format(i)] = 1
    return agent_class, dictionary


def write_blenderbot(opt, model_file, folder, max_shard_size):
    """
    The Blenderbot model, its generation config and tokenizer in ``folder``; what the card and
    the input helper need to know.
    """
    import torch

    from parlai_prosocial.agents.prost.agents import ProstAgent
    from parlai_prosocial.model_files import load_checkpoint

    from . import input_format, text_truncate, write_weights
    from .tokenizer import check_expressible, parlai_tokenizer

    check_architecture(opt)
    check_expressible(opt)
    agent_class, dictionary = parlai_dictionary(opt, model_file)
    states = load_checkpoint(
        model_file, lambda path: torch.load(path, map_location='cpu', weights_only=False)
    )
    parlai_state = states['model'] if 'model' in states else states
    del states
    embeddings = parlai_state['embeddings.weight']
    if embeddings.shape[0] != len(dictionary):
        raise ExportError(
            f'{model_file}: {embeddings.shape[0]} token embeddings but its dictionary has '
            f'{len(dictionary)} tokens; export the model with the .dict it was trained with'
        )
    start = dictionary.tok2ind[dictionary.start_token]
    n_positions = parlai_state['encoder.position_embeddings.weight'].shape[0]
    config = blenderbot_config(opt, dictionary, n_positions, embeddings.dtype)
    state = blenderbot_state_dict(parlai_state, opt, start)
    check_complete(state, config)
    config.architectures = ['BlenderbotForConditionalGeneration']
    config.save_pretrained(folder)
    generation, method = generation_config(opt, config)
    generation.save_pretrained(folder)
    write_weights(state, folder, max_shard_size)
    parameters = sum(t.numel() for k, t in state.items() if k != 'final_logits_bias')
    del state, parlai_state

    global_end = bool(opt.get('history_add_global_end_token'))
    tokenizer = parlai_tokenizer(dictionary, end_token_after_input=global_end)
    limit = text_truncate(opt)
    tokenizer.model_max_length = limit or int(1e30)
    tokenizer.truncation_side = 'left'  # ParlAI keeps the end of a too long history
    tokenizer.init_kwargs.update(model_max_length=tokenizer.model_max_length,
                                 truncation_side='left')
    tokenizer.save_pretrained(folder)
    is_prost = issubclass(agent_class, ProstAgent)
    return {
        'architecture': 'BlenderbotForConditionalGeneration',
        'agent': opt['model'],
        'parameters': parameters,
        'dtype': str(embeddings.dtype).replace('torch.', ''),
        'dictionary': opt.get('dict_tokenizer') or 're',
        'decoding': method,
        'card_options': ('embedding_size', 'n_layers', 'n_encoder_layers', 'n_decoder_layers',
                         'n_heads', 'ffn_size', 'dict_tokenizer', 'inference', 'text_truncate',
                         'label_truncate'),
        'input': {
            'format': input_format(opt),
            'delimiter': opt.get('delimiter', '\n'),
            'global_end_token': dictionary.end_token if global_end else None,
            'split_lines': bool(opt.get('split_lines')),
            'history_size': opt.get('history_size', -1),
            'reply_without_rots': is_prost,
            'text_truncate': limit,
            'start_id': start,
            'end_id': dictionary.tok2ind[dictionary.end_token],
            'clean_up_spaces': False,
            'strip_prefix_space': bool(
                dictionary.tokenizer == 'bytelevelbpe' and dictionary.bpe.add_prefix_space
            ),
        },
    }
