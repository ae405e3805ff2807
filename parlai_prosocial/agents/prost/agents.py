"""
Prost, the RoT-grounded dialogue agent of ProsocialDialog (Kim et al., 2022, §4.2, App. B.2).

``-m prost`` is ParlAI's transformer generator with four changes, so one agent serves both
variants of the paper:

* **RoT & Response** (trained on ``prosocial:rot_response``, targets ``RoT RoT __endrots__ reply``):
  what the agent *says* is the reply only. Generated text is split at ``__endrots__`` (at the
  last one should the model write several; ``parlai_prosocial.formats.split_rot_response``): ``text``
  (what ``interactive`` shows, what ``eval_model`` scores and world logs record) is the reply,
  the RoTs go to the ``rots_text`` field (``''`` when the model wrote none); ``beam_texts`` hold
  the beams' replies and ``beam_rots_texts`` their RoTs. The raw concatenation is never a
  message's ``text``. Show the RoTs in ``parlai interactive`` with
  ``--display-add-fields rots_text``.
* **Response only** (trained on ``prosocial:response``): the same agent; nothing is generated
  before ``__endrots__``, so ``rots_text`` is ``''`` and ``text`` is the reply.
* **The RoTs never enter the dialogue history.** ParlAI 1.7.2 has no ``TorchAgent.last_reply``
  (older ParlAI had one): ``TorchAgent.self_observe`` picks the bot's own turn inline (the gold
  label under ``--use-reply label``, the training default, whose RoT & Response label contains
  RoTs; else the generated ``text``) and hands it to ``History.add_reply``, its only way into the
  history. Overriding ``self_observe`` would mean re-implementing its name-mangled private
  bookkeeping, so the hook is the history instead: :class:`ProstHistory` keeps only the reply part
  of whatever ``add_reply`` gets (:meth:`ProstHistory.last_reply`).
* **``__endrots__`` is one token.** ``--special-tok-lst`` defaults to ``__endrots__`` and the
  agent adds it even when the user lists other special tokens. ParlAI adds special tokens to the
  dictionary after loading it (``TorchAgent.build_dictionary``): with ``--dict-tokenizer re`` the
  token is kept whole even when glued to a word and is in the vocabulary whatever
  ``--dict-minfreq``; with ``bytelevelbpe`` it becomes one added HF token instead of several
  BPE pieces, and decodes back literally. When the model is initialised from a checkpoint whose
  dictionary lacks the token (``--init-model``), ``TorchAgent.load_state_dict`` sees an embedding
  size mismatch and ``TransformerGeneratorAgent._resize_token_embeddings`` copies the old rows and
  leaves the new row(s) freshly initialised (``tests/test_prost.py`` does this with a tiny model).
  For ``zoo:blender/reddit_3B/model`` (``-o prosocial/prost``): its embedding matrix has 8008
  rows, and because the preset sets ``--fp16 true`` (as the checkpoint was trained), ParlAI pads
  the dictionary to a multiple of 8 with ``__FP16_PAD_i__`` tokens *after* adding the special
  tokens (``TorchAgent.__init__``; on CPU too, since it looks at the option, not the device). If
  the checkpoint's ``model.dict`` was saved without those pad tokens, ``__endrots__`` takes the
  index of the first pad row (a row no input ever used) and nothing is resized; if it was saved
  with them, the dictionary grows to 8016 and the embeddings are resized as above. Either way the
  new token's embedding is untrained at first and learnt in fine-tuning; the output layer shares
  it (tied embeddings), so the model can learn to emit it. Which case applies could not be checked
  here (the checkpoint is a 5 GB download and there is no network).

**Response w/ gold RoT** (Table 3's third row): with ``--prost-gold-rots true``, evaluation
generates every reply after the example's own gold RoTs and ``__endrots__``, forced as the start of
the decoded sequence, one prefix per row (the label's tokens up to its last ``__endrots__``, as the
model saw them in training, i.e. after ``--prost-label-truncation``). ParlAI's own hook
(``get_prefix_tokens``) cannot do this: it takes one tensor per batch and its mask lets every row
take any row's prefix token. Here each row's search object (:func:`reply_search`) emits its own
prefix, one forced token per step, with log-probability 0 (so beam scores are the reply's), keeps
the beams identical during the prefix and expands one of them at the first reply step (as ParlAI's
first step does). Rows whose gold target has no RoTs are generated as usual; so is everything
without labels (chat). The output keeps the forced RoTs in ``rots_text`` and the reply in
``text``, which is what the ``prosocial:rot_response`` teacher scores (``f1``, ``bleu-4``). The
generation length limit (``--label-truncate``) counts prefix and reply together, as in training.

**Minimum length and n-gram blocking count the reply** (``--prost-reply-search``, default true):
ParlAI applies ``--beam-min-length``, ``--beam-block-ngram`` and ``--beam-context-block-ngram`` to
the whole output, which for RoT & Response is RoTs and reply (a reply could then be shorter than
the minimum, or be kept from repeating its own RoT's words). Here they apply per segment: to the
tokens after the hypothesis' last ``__endrots__`` (gold or generated), and to the RoTs while no
``__endrots__`` has been written. For a Response-only model (no ``__endrots__``) this is ParlAI's
rule exactly. ``--gpu-beam-blocking`` keeps ParlAI's whole-output blocking.

**Label truncation** (``--prost-label-truncation``): ParlAI cuts a too long target at its end,
which for ``RoT ... __endrots__ reply`` cuts the reply. ``rots`` (the default) drops RoT tokens
instead, from the end of the RoT part, keeping ``__endrots__`` and the whole reply; only a reply
longer than the limit by itself is cut (at its end, as ParlAI would). ``end`` is ParlAI's
behaviour. :func:`truncate_target` is the rule; ``python -m parlai_prosocial.agents.prost.truncation``
counts how many targets of a data directory each rule would cut into.

Metrics: ``ppl`` is ParlAI's, over the whole target (for RoT & Response: RoTs, ``__endrots__`` and
reply). The agent also reports ``response_ppl``, over the reply tokens only (everything after the
last ``__endrots__``, and ``__end__``; the whole target when it has no RoTs), so RoT & Response
and Response only perplexities can be compared; on ``rot_response`` it is the reply's perplexity
given the gold RoTs (teacher forcing), the setting of Table 3's "Response w/ gold RoT" row. Reply
F1/BLEU and the separate ``rot_*`` metrics are computed by the ``prosocial:rot_response`` teacher.
"""

from typing import List, Optional, Tuple

import torch
from parlai.agents.transformer.transformer import TransformerGeneratorAgent
from parlai.core.torch_generator_agent import BeamSearch, PPLMetric, TreeSearch, _PathSelection
from parlai.utils.torch import neginf
from parlai.core.torch_agent import History

from parlai_prosocial.agents import AsksAgainOnEmptyInput, check_model_files_of
from parlai_prosocial.formats import (
    BEAM_ROTS_FIELD,
    ROTS_END,
    ROTS_TEXT_FIELD,
    split_rot_response,
)


def split_texts(texts: Optional[List[Optional[str]]]) -> Tuple[list, list]:
    """
    ``(rots, replies)`` of generated texts (:func:`split_rot_response`); None stays None.
    """
    if texts is None:
        return None, None
    pairs = [(None, None) if t is None else split_rot_response(t) for t in texts]
    return [rots for rots, _ in pairs], [reply for _, reply in pairs]


def split_output(output):
    """
    In place on a ParlAI ``Output``: ``text`` becomes the reply and ``rots_text`` the RoTs; each
    beam of ``beam_texts`` becomes ``(reply, score)`` and its RoTs go to ``beam_rots_texts``.

    ``TorchAgent.match_batch`` then puts every field on the matching message.
    """
    if output is None:
        return output
    if output.get('text') is not None:
        rots, replies = split_texts(output['text'])
        output['text'] = replies
        output[ROTS_TEXT_FIELD] = rots
    if output.get('beam_texts') is not None:
        beam_texts, beam_rots = [], []
        for beams in output['beam_texts']:
            rots, replies = split_texts([text for text, _ in beams])
            beam_texts.append([(reply, score) for reply, (_, score) in zip(replies, beams)])
            beam_rots.append(rots)
        output['beam_texts'] = beam_texts
        output[BEAM_ROTS_FIELD] = beam_rots
    return output


LABEL_TRUNCATIONS = ('rots', 'end')


def truncate_target(vec, truncate, rots_end, mode='rots'):
    """
    ``vec`` (target token ids, end token included) cut to ``truncate`` tokens: ``end`` cuts at the
    end (ParlAI's rule); ``rots`` drops tokens from the end of the RoT part (before the first
    ``rots_end`` token) first, so ``rots_end`` and the reply stay whole, and cuts the end only
    when the part from ``rots_end`` on is still too long. ``vec`` is a list.
    """
    if truncate is None or len(vec) <= truncate:
        return list(vec)
    if mode == 'end' or rots_end not in vec:
        return list(vec[:truncate])
    if mode != 'rots':
        raise ValueError(f'unknown label truncation {mode!r}: use one of {LABEL_TRUNCATIONS}')
    split = vec.index(rots_end)
    rots, rest = list(vec[:split]), list(vec[split:])
    if len(rest) >= truncate:
        return rest[:truncate]
    return rots[: truncate - len(rest)] + rest


class _ReplySearch:
    """
    Mixed into one row's ParlAI search object by :func:`reply_search` (see the module docstring):
    minimum length and n-gram blocking count the current segment only, i.e. the tokens after the
    hypothesis' last ``__endrots__`` (all of it while it has none), and the first
    ``len(forced_prefix)`` steps emit ``forced_prefix``.
    """

    #: the ParlAI classes it is mixed into: any search object of TorchGeneratorAgent
    #: (parlai_internals checks the ParlAI methods it overrides)
    mixed_into = (TreeSearch,)
    forced_prefix: List[int] = []
    rots_end: int = -1

    def _forced_steps(self):
        return len(self.forced_prefix)

    def _segment(self, hyp):
        """
        The tokens of ``hyp`` (start token first) after its last ``__endrots__``.
        """
        for i in range(len(hyp) - 1, 0, -1):
            if hyp[i] == self.rots_end:
                return hyp[i + 1:]
        return hyp[1:]

    def advance(self, logprobs, step):
        current_length = len(self.all_scores) - 1
        min_length = self.min_length
        if min_length > 0 and current_length >= self._forced_steps():
            for hyp_id, hyp in enumerate(self.partial_hyps.tolist()):
                if len(self._segment(hyp)) < min_length:
                    logprobs[hyp_id][self.eos] = neginf(logprobs.dtype)
        self.min_length = 0  # applied above, per hypothesis
        try:
            return super().advance(logprobs, step)
        finally:
            self.min_length = min_length

    def select_paths(self, logprobs, prior_scores, current_length):
        n = self._forced_steps()
        if current_length < n:
            hyps = logprobs.size(0)
            scores = prior_scores.expand(hyps) if prior_scores.numel() == 1 else prior_scores
            details = None
            if self.verbose:
                details = [{'token_logprob': 0.0, 'token_rank': 0} for _ in range(hyps)]
            return _PathSelection(
                hypothesis_ids=torch.arange(hyps, device=logprobs.device),
                token_ids=torch.full(
                    (hyps,), self.forced_prefix[current_length], dtype=torch.long,
                    device=logprobs.device,
                ),
                scores=scores.clone(),
                token_details=details,
            )
        if current_length == n and n > 0 and isinstance(self, BeamSearch):
            # the beams are copies of one forced prefix: expand one, as at a first step
            prior_scores = prior_scores[0:1]
        return super().select_paths(logprobs, prior_scores, current_length)

    def _block_ngrams(self, ngram_size, logprobs, step=0, if_context_blocking=False):
        if self.gpu_beam_blocking:  # ParlAI's kernel sees whole hypotheses only
            return super()._block_ngrams(ngram_size, logprobs, step, if_context_blocking)
        for hyp_id, hyp in enumerate(self.partial_hyps.tolist()):
            segment = self._segment(hyp)
            if len(segment) < ngram_size - 1:
                continue
            source = self.context if if_context_blocking else segment
            last = segment[len(segment) - (ngram_size - 1):]
            for i in range(len(source) - ngram_size + 1):
                ngram = source[i:i + ngram_size]
                if ngram_size == 1 or last == ngram[:-1]:
                    logprobs[hyp_id][ngram[-1]] = neginf(logprobs.dtype)
        return logprobs


_SEARCH_CLASSES = {}


def reply_search(tree, rots_end, prefix=()):
    """
    Make ParlAI search object ``tree`` (one batch row) count minimum length and n-gram blocking
    per segment (after the last ``rots_end`` token) and start its output with the token ids
    ``prefix``; returns ``tree``.
    """
    cls = type(tree)
    if not issubclass(cls, _ReplySearch):
        if cls not in _SEARCH_CLASSES:
            _SEARCH_CLASSES[cls] = type('Reply' + cls.__name__, (_ReplySearch, cls), {})
        tree.__class__ = _SEARCH_CLASSES[cls]
    tree.rots_end = int(rots_end)
    tree.forced_prefix = [int(t) for t in prefix]
    return tree


class ProstHistory(History):
    """
    ParlAI's history, except that the bot's own turns enter it without their RoTs.
    """

    @staticmethod
    def last_reply(text: str) -> str:
        """
        What of the bot's turn ``text`` the history keeps: the part after ``__endrots__``.
        """
        return split_rot_response(text)[1]

    def add_reply(self, text):
        super().add_reply(self.last_reply(text))


class ProstAgent(AsksAgainOnEmptyInput, TransformerGeneratorAgent):
    """
    Prost: a transformer generator whose RoTs stay off the reply and out of the history.
    """

    @classmethod
    def add_cmdline_args(cls, parser, partial_opt=None):
        super().add_cmdline_args(parser, partial_opt=partial_opt)
        parser.set_defaults(special_tok_lst=ROTS_END)
        group = parser.add_argument_group('Prost')
        group.add_argument(
            '--prost-gold-rots',
            type='bool',
            default=False,
            help='evaluation: generate each reply after the example\'s own gold RoTs and '
            '__endrots__, forced as the decoder\'s prefix (Table 3, "Response w/ gold RoT")',
        )
        group.add_argument(
            '--prost-reply-search',
            type='bool',
            default=True,
            help='generation: --beam-min-length and n-gram blocking count the reply (the '
            'tokens after __endrots__) and the RoTs apart, not the whole output (ParlAI\'s rule)',
        )
        group.add_argument(
            '--prost-label-truncation',
            choices=LABEL_TRUNCATIONS,
            default='rots',
            help='a target longer than --label-truncate loses RoT tokens (rots: the reply is '
            'kept whole) or its end (end: ParlAI\'s rule, which cuts the reply)',
        )
        return parser

    def __init__(self, opt, shared=None):
        if shared is None:
            check_model_files_of(ProstAgent, opt, needs_dict=True)
        super().__init__(opt, shared)
        self._pending_prefixes = None

    def _set_label_vec(self, obs, add_start, add_end, truncate):
        mode = self.opt.get('prost_label_truncation') or 'rots'
        if mode == 'end' or truncate is None:
            return super()._set_label_vec(obs, add_start, add_end, truncate)
        label_type = 'labels' if 'labels' in obs else 'eval_labels' if 'eval_labels' in obs else None
        if label_type is None or label_type + '_vec' in obs:
            return super()._set_label_vec(obs, add_start, add_end, truncate)
        labels = obs[label_type]
        label = labels[0] if len(labels) == 1 else self.random.choice(labels)
        vec = self._add_start_end_tokens(self.dict.txt2vec(label), add_start, add_end)
        kept = truncate_target(vec, truncate, self.dict[ROTS_END], mode)
        obs.force_set('label_original_length', len(vec))
        obs.force_set('label_truncate_rate', len(vec) > len(kept))
        obs.force_set('label_truncated_length', max(len(vec) - len(kept), 0))
        obs[label_type + '_vec'] = torch.LongTensor(kept)
        obs[label_type + '_choice'] = label
        return obs

    def _gold_prefixes(self, batch):
        """
        Per row: the label's tokens up to and including its last ``__endrots__`` (the RoTs as
        ``formats.split_rot_response`` splits them; none when it has no RoTs or no label).
        """
        if batch.label_vec is None:
            return None
        end = self.dict[ROTS_END]
        prefixes = []
        for row in batch.label_vec.tolist():
            last = len(row) - 1 - row[::-1].index(end) if end in row else -1
            prefixes.append(row[: last + 1])
        return prefixes

    def eval_step(self, batch):
        if self.opt.get('prost_gold_rots') and not self.skip_generation:
            self._pending_prefixes = self._gold_prefixes(batch)
        try:
            return split_output(super().eval_step(batch))
        finally:
            self._pending_prefixes = None

    def _generate(self, batch, beam_size, max_ts, prefix_tokens=None):
        prefixes = self._pending_prefixes
        if prefixes is not None and prefix_tokens is not None and any(prefixes):
            raise ValueError('--prost-gold-rots and get_prefix_tokens cannot be combined')
        self._tree_prefixes = list(prefixes) if prefixes is not None else None
        try:
            return super()._generate(batch, beam_size, max_ts, prefix_tokens=prefix_tokens)
        finally:
            self._tree_prefixes = None

    def _treesearch_factory(self, device, verbose=False):
        tree = super()._treesearch_factory(device, verbose=verbose)
        pending = getattr(self, '_tree_prefixes', None)
        prefix = pending.pop(0) if pending else []
        if prefix or self.opt.get('prost_reply_search', True):
            reply_search(tree, self.dict[ROTS_END], prefix)
        return tree

    @classmethod
    def history_class(cls):
        return ProstHistory

    def _get_special_tokens(self) -> List[str]:
        tokens = super()._get_special_tokens()
        if ROTS_END not in tokens:
            tokens = [ROTS_END] + tokens
        return tokens

    def record_per_token_metrics(self, batch, loss_per_token):
        super().record_per_token_metrics(batch, loss_per_token)
        if self.is_training:
            return  # evaluation only: not worth the bookkeeping on every update
        labels = batch.label_vec
        ends = labels.eq(self.dict[ROTS_END]).long()
        # the reply as formats.split_rot_response has it: strictly after the row's last
        # __endrots__ (no marker at or after the token); the whole row when it has none
        after_last_end = ends.flip(1).cumsum(dim=1).flip(1) == 0
        has_rots = ends.sum(dim=1, keepdim=True) > 0
        reply_mask = labels.ne(self.NULL_IDX) & (after_last_end | ~has_rots)
        per_example = PPLMetric.from_mask(loss_per_token, reply_mask)
        counts = reply_mask.sum(dim=1).tolist()
        self.record_local_metric(
            'response_ppl', [m if n > 0 else None for m, n in zip(per_example, counts)]
        )
