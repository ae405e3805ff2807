"""
Does an exported folder compute what the ParlAI agent computes? On the same dialogues:

* **ids**: the folder's ``dialogue_input.py`` with its tokenizer gives the ids ParlAI's agent puts
  in ``text_vec`` (its history, tokenizer, delimiter, end token and truncation);
* **scores**: the next-token log-probabilities of the HF model equal those of ParlAI's model
  (``agent.model(xs, ys=...)``, ParlAI's teacher forcing) at every step of a continuation (the
  greedy reply, up to a padding token: :func:`scored_target`), in every vocabulary column
  (ParlAI's masked ``__start__`` column is masked in the export too: both at about -1e20,
  compared as masked);
* **greedy**: HF's ``generate`` with the folder's generation config gives ParlAI's greedy reply,
  token for token, and ``DialogueInput.reply`` its text.

Used by the tests, the benchmark and anyone checking an export of their own::

    from parlai_prosocial.export import parity
    agent = parity.parlai_agent(MODEL_FILE)
    report = parity.compare(agent, FOLDER, [['Hi!'], ['Hi!', 'Hello.', 'How are you?']])
"""

import importlib.util
import os

#: a column at or below this log-probability is a masked one (ParlAI's -1e20)
MASKED = -1e10


def parlai_agent(model_file, **overrides):
    """
    The ParlAI agent of ``model_file``, decoding greedily (the decoding the export reproduces).
    """
    from parlai.core.agents import create_agent_from_model_file

    settings = dict(inference='greedy', beam_size=1, no_cuda=True, skip_generation=False,
                    interactive_mode=False)
    settings.update(overrides)
    return create_agent_from_model_file(model_file, settings)


def load_folder(folder):
    """
    ``(model, tokenizer, DialogueInput)`` of an exported folder, loaded as a user loads it: the
    folder's own ``dialogue_input.py``.
    """
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    spec = importlib.util.spec_from_file_location(
        '_exported_dialogue_input', os.path.join(folder, 'dialogue_input.py')
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = AutoModelForSeq2SeqLM.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    return model, tokenizer, module.DialogueInput.from_folder(folder)


def parlai_observation(agent, turns, fmt, narrative='', instruction=''):
    """
    ``turns`` (oldest first, the partner's last) observed by ``agent`` as ParlAI builds the
    context of their format (see ``dialogue_input``); the observation, with ``text_vec``.
    """
    from parlai.core.message import Message

    agent.reset()
    if fmt == 'canary':
        return agent.observe(Message({'text': '\n'.join(turns), 'episode_done': False}))
    last = len(turns) - 1
    for i, turn in enumerate(turns[:-1]):
        if (last - i) % 2 == 1:
            agent.history.add_reply(turn)
        else:
            agent.history.update_history(Message({'text': turn}))
    message = {'text': turns[-1], 'episode_done': False}
    if fmt == 'cosmo':
        message.update(cosmo_narrative=narrative, cosmo_instruction=instruction)
    return agent.observe(Message(message))


def parlai_greedy(agent, observation, max_ts):
    """
    ParlAI's greedy reply to ``observation``: the ids after the start token, up to and including
    the end token.
    """
    import torch

    batch = agent.batchify([observation])
    with torch.no_grad():
        preds, _ = agent._generate(batch, 1, max_ts)
    tokens = preds[0][0].tolist()
    return _after_start(tokens, agent.END_IDX)


def _after_start(tokens, end):
    tokens = list(tokens[1:])
    return tokens[: tokens.index(end) + 1] if end in tokens else tokens


def parlai_logprobs(agent, observation, target):
    """
    ParlAI's next-token log-probabilities for ``observation`` at each step of ``target`` (teacher
    forced): a ``[len(target), vocabulary]`` float tensor.
    """
    import torch

    batch = agent.batchify([observation])
    ys = torch.tensor([target], dtype=torch.long)
    agent.model.eval()
    with torch.no_grad():
        scores = agent.model(*agent._model_input(batch), ys=ys)[0]
    return torch.log_softmax(scores[0].float(), dim=-1)


def hf_logprobs(model, input_ids, target):
    import torch

    start = model.config.decoder_start_token_id
    with torch.no_grad():
        logits = model(
            input_ids=torch.tensor([input_ids]),
            attention_mask=torch.ones(1, len(input_ids), dtype=torch.long),
            decoder_input_ids=torch.tensor([[start] + list(target[:-1])]),
        ).logits
    return torch.log_softmax(logits[0].float(), dim=-1)


def hf_greedy(model, input_ids, max_ts=None):
    import torch

    config = model.generation_config
    kwargs = {}
    if max_ts is not None:  # the same bound as ParlAI's max_ts
        if config.max_new_tokens is not None:
            kwargs['max_new_tokens'] = max_ts
        else:
            kwargs['max_length'] = max_ts
    with torch.no_grad():
        output = model.generate(torch.tensor([input_ids]), do_sample=False, num_beams=1,
                                **kwargs)
    return _after_start(output[0].tolist(), config.eos_token_id)


def score_difference(parlai, hf):
    """
    ``(largest |difference| over the unmasked columns, whether the masked columns coincide)``.
    """
    masked_parlai, masked_hf = parlai <= MASKED, hf <= MASKED
    same_mask = bool((masked_parlai == masked_hf).all())
    keep = ~(masked_parlai | masked_hf)
    return float((parlai[keep] - hf[keep]).abs().max()), same_mask


def parlai_side(agent, contexts, fmt, max_ts=None):
    """
    What ParlAI's ``agent`` computes for ``contexts`` (each a list of turns, or a dict with
    ``turns``, ``narrative``, ``instruction`` for COSMO) in the input format ``fmt``: per context
    its input ids, greedy reply (ids and text) and the log-probabilities along that reply.
    """
    if max_ts is None:
        max_ts = agent.label_truncate or 256
    rows = []
    for context in contexts:
        turns, extra = _context(context)
        observation = parlai_observation(agent, turns, fmt, **extra)
        reply = parlai_greedy(agent, observation, max_ts)
        target = scored_target(agent, reply)
        rows.append({
            'turns': turns,
            'parlai_ids': observation['text_vec'].tolist(),
            'parlai_reply': reply,
            'parlai_text': _parlai_text(agent, reply),
            'parlai_target': target,
            'parlai_logprobs': parlai_logprobs(agent, observation, target),
        })
    return rows


def scored_target(agent, reply):
    """
    The part of ``reply`` the scores are compared along: up to its first padding or start token
    (an untrained T5 may emit its padding token, which is also its start token: ParlAI's teacher
    forcing refuses a target that starts with it, and masks it in the decoder's input where HF's
    ``generate`` does not); the end token alone when nothing is left.
    """
    target = []
    for token in reply:
        if token in (agent.NULL_IDX, agent.START_IDX):
            break
        target.append(token)
    return target or [agent.END_IDX]


def _parlai_text(agent, reply):
    """
    ParlAI's text of ``reply``; None where ParlAI's own decoding fails (its byte-level BPE
    asserts that a reply starts with a space, which an untrained model's need not).
    """
    try:
        return agent._v2t(reply)
    except AssertionError:
        return None


def _context(context):
    if isinstance(context, dict):
        return list(context['turns']), {k: context.get(k, '') for k in ('narrative',
                                                                          'instruction')}
    return list(context), {}


def hf_side(loaded, contexts, parlai_rows, max_ts):
    """
    The exported model (``load_folder``'s triple) on the same contexts, compared with
    :func:`parlai_side`'s rows: adds ``hf_ids``, ``ids_equal``, ``hf_reply``, ``greedy_equal``,
    ``hf_text``, ``texts_equal``, ``max_logprob_difference``, ``masks_equal`` to each.
    """
    model, tokenizer, dialogue = loaded
    rows = []
    for context, parlai in zip(contexts, parlai_rows):
        turns, extra = _context(context)
        hf_ids = dialogue.input_ids(tokenizer, turns, **extra)
        hf_reply = hf_greedy(model, hf_ids, max_ts)
        difference, masks = score_difference(
            parlai['parlai_logprobs'], hf_logprobs(model, parlai['parlai_ids'],
                                                   parlai['parlai_target'])
        )
        hf_text = dialogue.reply(tokenizer, [model.config.decoder_start_token_id] + hf_reply)
        row = {k: v for k, v in parlai.items() if k != 'parlai_logprobs'}
        row.update(
            greedy_tie_margin=tie_margin(parlai, hf_reply),
            hf_ids=hf_ids,
            ids_equal=hf_ids == parlai['parlai_ids'],
            hf_reply=hf_reply,
            greedy_equal=hf_reply == parlai['parlai_reply'],
            hf_text=hf_text,
            texts_equal=parlai['parlai_text'] is None or hf_text == parlai['parlai_text'],
            max_logprob_difference=difference,
            masks_equal=masks,
        )
        rows.append(row)
    return rows


def tie_margin(parlai, hf_reply):
    """
    Where HF's greedy reply first differs from ParlAI's (within the scored steps): how far apart
    ParlAI's log-probabilities of the two tokens there are (a near-tie, within the score tolerance,
    is a difference of float rounding, not of the model); None where they do not differ there.
    """
    reply, logprobs = parlai['parlai_reply'], parlai['parlai_logprobs']
    for step, (ours, theirs) in enumerate(zip(reply, hf_reply)):
        if ours != theirs:
            if step >= len(logprobs):
                return None
            return float((logprobs[step][ours] - logprobs[step][theirs]).abs())
    return None


def compare(agent, folder, contexts, max_ts=None, loaded=None):
    """
    Parity of ``folder`` with ``agent`` on ``contexts`` (:func:`parlai_side`, :func:`hf_side`).
    """
    loaded = loaded or load_folder(folder)
    if max_ts is None:
        max_ts = agent.label_truncate or 256
    return hf_side(loaded, contexts, parlai_side(agent, contexts, loaded[2].format, max_ts),
                   max_ts)
