"""
Prost, the RoT-grounded dialogue agent of ProsocialDialog (Kim et al., 2022, §4.2, App. B.2).

``-m prost`` is ParlAI's transformer generator with four changes, so one agent serves both
variants of the paper:

* **RoT & Response** (trained on ``prosocial:rot_response``, targets ``RoT RoT __endrots__ reply``):
  what the agent *says* is the reply only. Generated text is split at ``__endrots__`` (at the
  last one should the model write several; see ``split_generated`` in this package): ``text``
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

Metrics: ``ppl`` is ParlAI's, over the whole target (for RoT & Response: RoTs, ``__endrots__`` and
reply). The agent also reports ``response_ppl``, over the reply tokens only (everything after the
first ``__endrots__``, and ``__end__``; the whole target when it has no RoTs), so RoT & Response
and Response only perplexities can be compared; on ``rot_response`` it is the reply's perplexity
given the gold RoTs (teacher forcing), the setting of Table 3's "Response w/ gold RoT" row. Reply
F1/BLEU and the separate ``rot_*`` metrics are computed by the ``prosocial:rot_response`` teacher.
"""

from typing import List, Optional, Tuple

from parlai.agents.transformer.transformer import TransformerGeneratorAgent
from parlai.core.torch_generator_agent import PPLMetric
from parlai.core.torch_agent import History

from parlai_prosocial.formats import ROTS_END

from . import BEAM_ROTS_FIELD, ROTS_TEXT_FIELD, split_generated


def split_texts(texts: Optional[List[Optional[str]]]) -> Tuple[list, list]:
    """
    ``(rots, replies)`` of generated texts (:func:`split_generated`); None stays None.
    """
    if texts is None:
        return None, None
    pairs = [(None, None) if t is None else split_generated(t) for t in texts]
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


class ProstHistory(History):
    """
    ParlAI's history, except that the bot's own turns enter it without their RoTs.
    """

    @staticmethod
    def last_reply(text: str) -> str:
        """
        What of the bot's turn ``text`` the history keeps: the part after ``__endrots__``.
        """
        return split_generated(text)[1]

    def add_reply(self, text):
        super().add_reply(self.last_reply(text))


class ProstAgent(TransformerGeneratorAgent):
    """
    Prost: a transformer generator whose RoTs stay off the reply and out of the history.
    """

    @classmethod
    def add_cmdline_args(cls, parser, partial_opt=None):
        super().add_cmdline_args(parser, partial_opt=partial_opt)
        parser.set_defaults(special_tok_lst=ROTS_END)
        return parser

    @classmethod
    def history_class(cls):
        return ProstHistory

    def _get_special_tokens(self) -> List[str]:
        tokens = super()._get_special_tokens()
        if ROTS_END not in tokens:
            tokens = [ROTS_END] + tokens
        return tokens

    def eval_step(self, batch):
        return split_output(super().eval_step(batch))

    def record_per_token_metrics(self, batch, loss_per_token):
        super().record_per_token_metrics(batch, loss_per_token)
        if self.is_training:
            return  # evaluation only: not worth the bookkeeping on every update
        labels = batch.label_vec
        ends = labels.eq(self.dict[ROTS_END]).long()
        # strictly after the first __endrots__ of the row; the whole row when it has none
        after_end = (ends.cumsum(dim=1) - ends) > 0
        has_rots = ends.sum(dim=1, keepdim=True) > 0
        reply_mask = labels.ne(self.NULL_IDX) & (after_end | ~has_rots)
        per_example = PPLMetric.from_mask(loss_per_token, reply_mask)
        counts = reply_mask.sum(dim=1).tolist()
        self.record_local_metric(
            'response_ppl', [m if n > 0 else None for m, n in zip(per_example, counts)]
        )
