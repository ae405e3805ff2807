"""
Canary, COSMO and any ``hugging_face/t5`` model as ``T5ForConditionalGeneration``.

ParlAI's T5 agent already holds a HF ``T5ForConditionalGeneration`` (``agent.model.t5``) and a HF
``T5TokenizerFast`` (``agent.dict.hf_tokenizer``): the export loads the agent from the model file
(``create_agent_from_model_file``, as ``parlai interactive -mf`` does, so Canary's grown
embeddings and label tokens are exactly what ParlAI uses) and saves both, with:

* Canary's five safety labels as added tokens, one id each, the ids the model was trained with;
  not HF "special" tokens, so that ``decode(..., skip_special_tokens=True)`` keeps them, as
  Canary's ParlAI decoding does (a checkpoint saved with the labels as plain text, the released
  Canary, keeps them as text: its tokenizer is T5's);
* the truncation ParlAI applies: Canary's dictionary cuts the input at ``--text-truncate`` tokens
  from the right (``T5DictionaryAgent.txt2vec``); COSMO's encodes it whole and ParlAI keeps the
  last ``--text-truncate`` tokens;
* COSMO's decoding without ``clean_up_tokenization_spaces`` (the released chat code's);
* ``generation_config.json``: the ``generate`` arguments ParlAI's T5 agent passes (greedy for
  Canary; COSMO's nucleus sampling, top-p 0.95, at most 128 new tokens).

ParlAI's T5 wrapper scores tokens (training loss, ``ppl``) with the output rescaled by
``d_model ** -0.5`` whatever the checkpoint (``ParlaiT5Model.output``), while its generation is HF's
``generate``, which rescales only when the input and output embeddings are tied. For T5 v1.0
(T5-large, Canary; the tiny T5) both agree; for an untied T5 (v1.1, the LM-adapted T5 of COSMO-3B)
the exported model generates as ParlAI does, and its scores are those of ParlAI's generation, not
of ParlAI's ``ppl``.
"""

from parlai_prosocial.errors import ExportError


def load_agent(model_file, opt):
    from parlai.core.agents import create_agent_from_model_file

    overrides = {'no_cuda': True, 'datapath': opt.get('datapath'), 'model_parallel': False,
                 't5_model_parallel': False}
    return create_agent_from_model_file(model_file, {k: v for k, v in overrides.items()
                                                     if v is not None})


def generation_config(agent, opt):
    """
    What ParlAI's T5 agent passes to ``generate`` (``T5Agent._generate``, with Canary's and
    COSMO's overrides), as a ``GenerationConfig``.
    """
    from transformers import GenerationConfig

    from . import label_truncate

    method = opt.get('inference') or 'greedy'
    max_ts = label_truncate(opt) or 256
    settings = dict(
        decoder_start_token_id=agent.NULL_IDX,
        bos_token_id=agent.START_IDX,
        pad_token_id=agent.NULL_IDX,
        eos_token_id=agent.END_IDX,
        min_length=agent.beam_min_length,
        num_beams=agent.beam_size if method == 'beam' else 1,
        no_repeat_ngram_size=max(agent.beam_block_ngram or 0, 0),
        do_sample=method in ('nucleus', 'topk'),
    )
    if settings['num_beams'] > 1:
        settings['length_penalty'] = opt.get('beam_length_penalty', 0.65)
    if (opt.get('model') or '') == 'cosmo':
        settings.update(max_new_tokens=max_ts)
    else:
        settings.update(max_length=max_ts)
    if method == 'nucleus':
        settings.update(top_p=opt['topp'])
        if (opt.get('model') or '') != 'cosmo':
            settings['top_k'] = 0
    elif method == 'topk':
        settings.update(top_k=opt['topk'])
    return GenerationConfig(**settings), method


def exported_tokenizer(dictionary, opt):
    """
    The agent's T5 tokenizer as the export saves it (see the module docstring).
    """
    import copy

    from tokenizers import AddedToken

    from . import text_truncate

    tokenizer = copy.deepcopy(dictionary.hf_tokenizer)
    labels = list(getattr(dictionary, 'additional_special_tokens', None) or [])
    if labels:
        ids = [tokenizer.convert_tokens_to_ids(t) for t in labels]
        tokenizer.backend_tokenizer.add_tokens([
            AddedToken(t, single_word=False, lstrip=False, rstrip=False, normalized=False,
                       special=False)
            for t in labels
        ])
        tokenizer._additional_special_tokens = [
            t for t in tokenizer.additional_special_tokens if t not in labels
        ]
        again = [tokenizer.convert_tokens_to_ids(t) for t in labels]
        if again != ids:
            raise ExportError(f'the label tokens changed ids ({ids} -> {again})')
    cosmo = (opt.get('model') or '') == 'cosmo'
    limit = text_truncate(opt) if cosmo else dictionary.max_length
    tokenizer.model_max_length = limit or int(1e30)
    tokenizer.truncation_side = 'left' if cosmo else 'right'
    tokenizer.init_kwargs.update(model_max_length=tokenizer.model_max_length,
                                 truncation_side=tokenizer.truncation_side)
    if cosmo:
        tokenizer.clean_up_tokenization_spaces = False
        tokenizer.init_kwargs['clean_up_tokenization_spaces'] = False
    return tokenizer, labels, limit


def write_t5(opt, model_file, folder, max_shard_size):
    """
    The T5 model, its generation config and tokenizer in ``folder``; what the card and the input
    helper need to know.
    """
    from . import input_format

    agent = load_agent(model_file, opt)
    t5 = agent.model.t5
    t5.config.architectures = ['T5ForConditionalGeneration']
    t5.save_pretrained(folder, safe_serialization=True, max_shard_size=max_shard_size)
    generation, method = generation_config(agent, agent.opt)
    generation.save_pretrained(folder)
    tokenizer, labels, limit = exported_tokenizer(agent.dict, agent.opt)
    tokenizer.save_pretrained(folder)
    facts = {
        'architecture': 'T5ForConditionalGeneration',
        'agent': opt['model'],
        'parameters': sum(p.numel() for p in t5.parameters()),
        'dtype': str(next(t5.parameters()).dtype).replace('torch.', ''),
        'dictionary': 't5',
        'labels': labels,
        'decoding': method,
        'card_options': ('t5_model_arch', 'inference', 'text_truncate', 'label_truncate'),
        'input': {
            'format': input_format(opt),
            'text_truncate': limit,
            'start_id': agent.START_IDX,
            'end_id': agent.END_IDX,
            'clean_up_spaces': bool(tokenizer.clean_up_tokenization_spaces),
        },
    }
    del agent
    return facts

