"""
The input of an exported model, built from a dialogue exactly as ParlAI builds it; and its reply.

This file is copied into every exported folder (as ``dialogue_input.py``) beside
``parlai_input.json``, which holds the model's settings: it needs ``transformers`` only (no
ParlAI, no plugin)::

    import sys; sys.path.insert(0, FOLDER)
    from dialogue_input import DialogueInput
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(FOLDER)
    model = AutoModelForSeq2SeqLM.from_pretrained(FOLDER)
    dialogue = DialogueInput.from_folder(FOLDER)
    ids = dialogue.input_ids(tokenizer, ['I want to prank call 911.'])
    output = model.generate(torch.tensor([ids]))
    dialogue.reply(tokenizer, output[0])     # the text ParlAI's agent would say

The three formats (``format`` in ``parlai_input.json``):

* ``history`` (``transformer/generator``, Prost): ParlAI's dialogue history. The turns, oldest
  first, alternate between the partner and the model, the last one the partner's; each turn is
  tokenised alone, the turns joined by the ``delimiter``'s tokens (``--delimiter``, default a
  newline), ``__end__`` appended when the model was trained with
  ``--history-add-global-end-token end``, then only the last ``text_truncate`` tokens kept. (For
  the tiny presets' dictionary, tokenising the joined string gives the same ids; for a
  byte-level BPE it does not, hence turn by turn.) Prost's own turns enter the history without
  their RoTs (the text after the last ``__endrots__``).
* ``canary``: one text, the turns joined with newlines (what the ``prosocial:safety`` teacher and
  ``CanaryAgent.classify`` give the model), tokenised with ``</s>`` at its end and cut at
  ``text_truncate`` tokens from the right, as ParlAI's T5 dictionary cuts it.
* ``cosmo``: ``narrative <sep> instruction <sep> turn <turn> turn ...`` (the released COSMO chat
  code's ``set_input``; an empty part is left out with its ``<sep>``), tokenised whole, then the
  last ``text_truncate`` tokens kept.

The reply: the generated ids up to the end token, without the start and padding tokens, decoded
as ParlAI decodes them (Prost's ``__endrots__``, Canary's safety label kept).
"""

import json
import os

SETTINGS_FILE = 'parlai_input.json'

# <formats> the export puts the plugin's definitions here, so this file needs no plugin
from parlai_prosocial.formats import (  # noqa: E402,F401
    ROTS_END,
    SEP,
    TURN,
    cosmo_input,
    split_rot_response,
)
# </formats>


class DialogueInput:
    """
    The settings of one exported model's input (``parlai_input.json``) and what they build.
    """

    def __init__(self, settings):
        self.settings = dict(settings)
        self.format = self.settings['format']

    @classmethod
    def from_folder(cls, folder):
        with open(os.path.join(folder, SETTINGS_FILE), encoding='utf-8') as f:
            return cls(json.load(f))

    # ---------------------------------------------------------------- the input

    def history_turns(self, turns):
        """
        The turns as ParlAI's history holds them (``history`` format): lines split when the model
        was trained with ``--split-lines``, the model's own turns without their RoTs, at most
        ``history_size`` turns (-1: all).
        """
        kept = []
        last = len(turns) - 1
        for i, turn in enumerate(turns):
            own = (last - i) % 2 == 1  # the partner speaks last, the model before that
            if own and self.settings.get('reply_without_rots'):
                turn = split_rot_response(turn)[1]
            pieces = turn.split('\n') if self.settings.get('split_lines') else [turn]
            kept.extend(pieces)
        size = self.settings.get('history_size', -1)
        return kept[-size:] if size and size > 0 else kept

    def text(self, turns, narrative='', instruction=''):
        """
        The input as one string (for ``canary`` and ``cosmo`` exactly the text ParlAI tokenises;
        for ``history`` the turns joined by the delimiter, which ``input_ids`` tokenises turn by
        turn).
        """
        if isinstance(turns, str):
            turns = [turns]
        if self.format == 'cosmo':
            return cosmo_input(narrative, instruction, list(turns))
        if self.format == 'canary':
            return '\n'.join(turns)
        return self.settings['delimiter'].join(self.history_turns(turns))

    def input_ids(self, tokenizer, turns, narrative='', instruction=''):
        """
        The model's input ids for the dialogue ``turns`` (oldest first; a string is one turn), as
        ParlAI's agent computes them. ``narrative`` and ``instruction``: COSMO's.
        """
        if isinstance(turns, str):
            turns = [turns]
        limit = self.settings.get('text_truncate')
        if self.format == 'history':
            def encode(text):
                return tokenizer.encode(text, add_special_tokens=False)

            delimiter = encode(self.settings['delimiter'])
            ids = []
            for i, turn in enumerate(self.history_turns(turns)):
                ids += (delimiter if i else []) + encode(turn)
            if self.settings.get('global_end_token'):
                ids.append(tokenizer.convert_tokens_to_ids(self.settings['global_end_token']))
        else:
            ids = tokenizer.encode(self.text(turns, narrative, instruction))
            if self.format == 'canary' and limit and len(ids) > limit:
                return ids[: limit - 1] + ids[-1:]  # T5's right truncation keeps </s>
        return ids[-limit:] if limit and len(ids) > limit else ids

    # ---------------------------------------------------------------- the reply

    def reply(self, tokenizer, ids):
        """
        The text of generated ``ids`` as ParlAI's agent says it (before Prost splits off its
        RoTs: :meth:`split_reply`).
        """
        ids = [int(i) for i in ids]
        start, end = self.settings['start_id'], self.settings['end_id']
        if self.format == 'history':
            kept = []
            for i in ids:
                if i == end:
                    break
                if i != start:
                    kept.append(i)
            text = tokenizer.decode(kept, skip_special_tokens=False)
            # ParlAI's byte-level BPE encodes with a space in front and strips it again
            return text.lstrip(' ') if self.settings.get('strip_prefix_space') else text
        return tokenizer.decode(ids, skip_special_tokens=True,
                                clean_up_tokenization_spaces=self.settings['clean_up_spaces'])

    @staticmethod
    def split_reply(text):
        """
        ``(rots, reply)`` of a Prost output (``RoT RoT __endrots__ reply``; no RoTs: ``''``).
        """
        return split_rot_response(text)
