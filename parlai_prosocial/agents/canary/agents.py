"""
Canary (``-m canary``): ParlAI's T5 agent, as the paper's dialogue safety module (§4.1, B.1).

It generates ``__casual__`` or a safety label token followed by the RoTs (the ``prosocial:safety``
teacher's target) and differs from ParlAI's ``hugging_face/t5`` agent in five ways:

* The five safety labels are special tokens of the T5 tokenizer, one token each (§4.1: "a
  special token for the safety label"; C.1 for the T5 baseline): ParlAI's ``--special-tok-lst``,
  which ParlAI's T5 agent ignores, defaults here to :data:`~parlai_prosocial.formats.SAFETY_LABELS`
  (the three-way labels are among them). They are added to the tokenizer in that order after its
  own vocabulary, the embeddings grow when the tokenizer outgrows them (the tiny T5; T5-large's
  32,128 rows already leave room for 28 tokens past its 32,100), the grown embeddings are saved
  with the model and ``model.opt`` keeps the list, so ``-mf``, ``zoo:canary/model`` and the guard
  rebuild the same tokenizer. Decoding keeps them (ParlAI's T5 dictionary decodes with
  ``skip_special_tokens``, which would drop them). A checkpoint saved without them (the released
  Canary: see ``zoo/canary/model_card.md``; ``model.opt`` with ``special_tok_lst`` null) keeps its
  labels as plain text; ``--special-tok-lst ''`` trains that way too.

* ``--t5-model-arch`` takes a local directory holding a HF T5 model and tokenizer (the output of
  ``save_pretrained``) as well as a hub name; the default is ``t5-large`` as in the paper. A
  directory is stored as an absolute path in ``model.opt``. (ParlAI's agent restricts the option to
  ten hub names and always loads from the hub.)
* When a ParlAI checkpoint is going to be loaded (``--model-file`` exists, or ``--init-model``),
  the T5 is built from its ``config.json`` alone instead of loading the pretrained weights only to
  overwrite them: loading a 3 GB T5-large twice is avoided, and a directory with only
  ``config.json`` and the tokenizer files is enough to run a trained Canary offline.
* Every reply with a ``text`` also carries the parsed output: ``safety_label`` (the label token, ''
  when the output does not start with one) and ``rots_text`` (the RoT text after the label, one
  string, the field Prost uses for its RoTs too; ``rots`` is only ever the teachers' list of gold
  RoTs: ``parlai_prosocial.formats``). ``text`` stays as generated.
  ``--canary-safety-schema three`` maps the parsed label to the paper's three classes (§2.3).
* With gold Canary targets (``prosocial:safety``), evaluation reports ``safety_acc``: whether the
  generated label equals the gold label (Table 2's safety classification accuracy; a reply
  without a label token counts as wrong), in the chosen schema, and the rest of Table 2:
  ``safety_acc_3way`` (three-way schema), ``rot_f1`` / ``rot_bleu-4`` of the generated RoT text
  against the gold RoT text (examples with gold RoTs), ``rot_ppl`` (perplexity of the gold RoTs
  after the label token).

Norm pre-training (§4.1, B.1: the three Canary variants of Table 2): stage 1 trains T5 on a norm
corpus (``-o prosocial/canary_pretrain_<corpus>``), stage 2 fine-tunes that model on the Canary
mixture (``-o prosocial/canary_<corpus> --init-model STAGE1``). ``--canary-pretrained-on CORPUS``
(set by the stage-2 presets) makes the second stage refuse to start from anything but a stage-1
model of that corpus: without ``--init-model``, with one that does not exist (ParlAI would silently
train from the plain T5), or with one whose ``.opt`` was not trained on the corpus' task. A
stage-2 model that already exists (``-mf`` of a finished or interrupted run) is not checked again.

From Python, :meth:`CanaryAgent.classify` takes one dialogue context and returns
``(safety_label, rots)``; see also :func:`parlai_prosocial.agents.canary.load_canary`.
"""

import argparse
import os
from typing import List, Optional

from parlai.agents.hugging_face.dict import T5DictionaryAgent
from parlai.agents.hugging_face.t5 import (
    ParlaiT5Decoder,
    ParlaiT5Encoder,
    ParlaiT5Model,
    T5Agent,
    build_t5,
)
from parlai.core.message import Message
from parlai.core.metrics import AverageMetric, BleuMetric, F1Metric
from parlai.core.opt import Opt
from parlai.core.params import ParlaiParser
from parlai.core.torch_generator_agent import PPLMetric, TorchGeneratorModel

from parlai_prosocial.formats import (
    ROTS_TEXT_FIELD,
    SAFETY_LABELS,
    SAFETY_SCHEMAS,
    parse_canary_output,
)
from parlai_prosocial.errors import ModelFileError, ProsocialOptionError
from parlai_prosocial.model_files import (
    dictionary_ends_inside_a_line,
    dictionary_tokens,
    saved_options,
)
from parlai_prosocial.our_names import NORM_CORPORA
from parlai_prosocial.parlai_internals import check_relied_on

from parlai_prosocial.agents import AsksAgainOnEmptyInput, check_model_files_of

from . import context_text

#: the paper's base model (B.1)
DEFAULT_T5_MODEL_ARCH = 't5-large'

#: ``--canary-pretrained-on`` -> the ParlAI task of that norm corpus (stage 1)
PRETRAINING_TASKS = {corpus: corpus for corpus in NORM_CORPORA}


class CanaryStageError(ProsocialOptionError, ValueError):
    """
    A stage-2 Canary run (``--canary-pretrained-on``) without its stage-1 model (one line).
    """


def looks_like_a_path(value):
    """
    Whether a ``--t5-model-arch`` value is meant as a local directory, not a hub name.
    """
    return os.path.isabs(os.path.expanduser(value)) or value.startswith(('.', '~'))


def _weights_files(arch):
    """
    The safetensors file(s) of the T5 ``arch``, as a message names them.
    """
    import glob

    if not os.path.isdir(arch):
        return f'the safetensors weights of {arch} (in the HF cache)'
    files = sorted(glob.glob(os.path.join(arch, '*.safetensors')))
    return files[0] if len(files) == 1 else os.path.join(arch, '*.safetensors')


def t5_loaded(opt: Opt, what: str, build):
    """
    ``build()``, which loads the ``what`` (model, tokenizer) of ``--t5-model-arch`` through HF,
    with each way that fails as one line naming what to fix: a directory that is not there (it
    moved since a model file's ``.opt`` named it), HF's failure to find a hub name (offline and
    not in the HF cache, or a bad name: what to download and where to give it), or damaged
    weights (a safetensors file cut short, with a bad header, dtype or offsets: the file).
    Canary and COSMO (``-m cosmo``) both use it.
    """
    from huggingface_hub.utils import HFValidationError
    from safetensors import SafetensorError

    arch = opt['t5_model_arch']
    if looks_like_a_path(arch) and not os.path.isdir(os.path.expanduser(arch)):
        raise ModelFileError(
            f'--t5-model-arch {arch} (from the command line or the model file\'s .opt): no such '
            'directory; if the T5 folder moved, give its new place with --t5-model-arch DIR'
        )
    try:
        return build()
    except SafetensorError as error:
        raise ModelFileError(
            f'--t5-model-arch {arch}: {_weights_files(arch)}: not a readable safetensors file '
            f'({error}); is it cut short or damaged? Save the model there again '
            '(save_pretrained)'
        ) from None
    except (OSError, HFValidationError) as error:
        reason = ' '.join(str(error).split())
        raise ModelFileError(
            f'--t5-model-arch {arch}: cannot load the {what} ({reason[:300]}); '
            'without the network, save the model and its tokenizer once where there is one '
            '(save_pretrained of the HF T5 model and T5TokenizerFast) and give that local '
            'directory to --t5-model-arch'
        ) from None


def _tasks_of(task):
    return [part.split(':')[0].strip() for part in (task or '').split(',') if part.strip()]


def check_stage_one(opt):
    """
    Raise :class:`CanaryStageError` unless a ``--canary-pretrained-on CORPUS`` run starts from a
    stage-1 model of CORPUS (see the module docstring). Returns the stage-1 model file, or None
    when there is nothing to check (no corpus, or the stage-2 model file exists already).
    """
    corpus = opt.get('canary_pretrained_on') or 'none'
    if corpus == 'none':
        return None
    model_file = opt.get('model_file')
    if model_file and os.path.isfile(model_file):
        return None
    task = PRETRAINING_TASKS[corpus]
    how = (
        f'stage 2 of Canary ({corpus}) starts from the stage-1 model: first '
        f'`parlai train_model -o prosocial/canary_pretrain_{corpus} -mf STAGE1/model`, then pass '
        '--init-model STAGE1/model'
    )
    init_model = opt.get('init_model')
    if not init_model:
        raise CanaryStageError(f'--canary-pretrained-on {corpus} without --init-model: {how}')
    if not os.path.isfile(init_model):
        raise CanaryStageError(f'--init-model {init_model}: no such model file; {how}')
    try:
        init_task = saved_options(init_model + '.opt').get('task')
    except ModelFileError as e:
        raise CanaryStageError(f'{e}; {how}') from None
    if task not in _tasks_of(init_task):
        raise CanaryStageError(
            f'--init-model {init_model} was trained on {init_task!r}, not on {task!r}; {how}'
        )
    return init_model


def t5_model_arch(value):
    """
    ``--t5-model-arch``: a local T5 directory (made absolute) or a HF hub name.

    A value that is clearly a path (absolute, or starting with ``.`` or ``~``) must be a directory
    with a ``config.json``; so must an existing directory. Anything else is passed to HF as a hub
    name (which needs the network or the HF cache).
    """
    path = os.path.expanduser(value)
    if os.path.isdir(path):
        if not os.path.isfile(os.path.join(path, 'config.json')):
            raise argparse.ArgumentTypeError(
                f'--t5-model-arch {value}: the directory has no config.json; give the directory '
                'written by save_pretrained() of a HF T5 model and its tokenizer'
            )
        return os.path.abspath(path)
    if looks_like_a_path(value):
        raise argparse.ArgumentTypeError(f'--t5-model-arch {value}: no such directory')
    return value


def build_t5_from_config(opt: Opt):
    """
    A T5 with the architecture of ``opt['t5_model_arch']`` and random weights, for a checkpoint
    to be loaded into.
    """
    from transformers import T5Config, T5ForConditionalGeneration

    config = T5Config.from_pretrained(opt['t5_model_arch'], dropout_rate=opt['t5_dropout'])
    return T5ForConditionalGeneration(config)


def accept_t5_directory(parser: ParlaiParser, default: str, why: str = '') -> None:
    """
    Make ParlAI's ``--t5-model-arch`` (already added to ``parser`` by ``T5Agent``) take a local
    directory or any hub name (:func:`t5_model_arch`) instead of its ten fixed hub names, with
    ``default``. The one place this is done: Canary and COSMO (``-m cosmo``) both call it.
    """
    arch = parser._option_string_actions['--t5-model-arch']
    arch.choices = None
    arch.type = t5_model_arch
    arch.default = default
    arch.help = (
        'HF hub name of the T5 (needs the network or the HF cache), or a local directory '
        'holding a HF T5 model and tokenizer (save_pretrained output); with a ParlAI '
        'checkpoint to load, config.json and the tokenizer files are enough. '
        f'Default: {default}' + (f' ({why})' if why else '')
    )


# CanaryT5Model.__init__ re-implements ParlaiT5Model's; CanaryAgent edits T5Agent's --t5-model-arch
check_relied_on(
    'parlai.agents.hugging_face.t5:ParlaiT5Model.__init__',
    'parlai.agents.hugging_face.t5:T5Agent.add_cmdline_args',
)


class CanaryT5Model(ParlaiT5Model):
    """
    ParlAI's T5 wrapper, optionally built from the config alone (see the module docstring).
    """

    def __init__(self, opt, dictionary, from_config=False):
        # ParlaiT5Model.__init__ with the choice of how to build the HF model
        self.pad_idx = dictionary[dictionary.null_token]
        self.start_idx = self.pad_idx
        self.end_idx = dictionary[dictionary.end_token]
        TorchGeneratorModel.__init__(self, self.pad_idx, self.start_idx, self.end_idx)
        self.t5 = build_t5_from_config(opt) if from_config else build_t5(opt)
        # room for the label tokens, before the stacks are wrapped (they share the embedding)
        old_size = self.t5.get_input_embeddings().num_embeddings
        if len(dictionary.hf_tokenizer) > old_size:
            import torch

            self.t5.resize_token_embeddings(len(dictionary.hf_tokenizer))
            # new rows start at the mean of the others (the usual choice for added tokens, e.g.
            # torchtune's resize_token_embeddings default), not at a random init far from trained
            # rows
            with torch.no_grad():
                for emb in {id(e): e for e in (self.t5.shared, self.t5.lm_head)}.values():
                    emb.weight[old_size:] = emb.weight[:old_size].mean(dim=0)
        self.encoder = ParlaiT5Encoder(opt, self.t5.get_encoder(), self.pad_idx)
        self.decoder = ParlaiT5Decoder(opt, self.t5.get_decoder(), self.pad_idx)
        self.paralleled = not opt['t5_model_parallel']


class CanaryDictionaryAgent(T5DictionaryAgent):
    """
    T5's tokenizer (ParlAI's T5 dictionary) that takes ``--special-tok-lst``: each token is added
    as one special token, in the order given, and decoding keeps them while still dropping T5's
    own special tokens (padding, end, unknown, sentinels), as ParlAI's T5 dictionary does.
    """

    def __init__(self, opt: Opt, shared=None):
        super().__init__(opt, shared)
        self._kept = (shared or {}).get('kept_special_ids', frozenset())

    def get_tokenizer(self, opt):
        parlai_get_tokenizer = super().get_tokenizer
        return t5_loaded(opt, 'tokenizer', lambda: parlai_get_tokenizer(opt))

    def add_additional_special_tokens(self, additional_special_tokens: List[str]):
        # ParlAI's DictionaryAgent refuses an 'hf' tokenizer; GPT-2's dictionary does this with
        # add_special_tokens, which adds them in set order: add_tokens keeps the list's
        from tokenizers import AddedToken

        tokens = list(additional_special_tokens)
        self.additional_special_tokens = tokens
        self.base_size = len(self.hf_tokenizer)
        self.hf_tokenizer.add_tokens(
            [AddedToken(t, lstrip=False, rstrip=False, normalized=False, special=True)
             for t in tokens],
            special_tokens=True,
        )
        self.hf_tokenizer.add_special_tokens(  # listed as special (ids unchanged: they exist)
            {'additional_special_tokens': tokens}, replace_additional_special_tokens=False
        )
        for token in tokens:
            index = self.hf_tokenizer.convert_tokens_to_ids(token)
            self.tok2ind[token] = index
            self.ind2tok[index] = token
            self.freq[token] = 1
        self._kept = frozenset(self.tok2ind[t] for t in tokens)

    def share(self):
        shared = super().share()
        shared['kept_special_ids'] = self._kept
        return shared

    def vec2txt(self, vec, **kwargs):
        if not self._kept:
            return super().vec2txt(vec, **kwargs)
        tokenizer = self.hf_tokenizer
        special = set(tokenizer.all_special_ids) | {
            index for index, token in tokenizer.added_tokens_decoder.items() if token.special
        }
        dropped = special - self._kept
        kept = [i for i in (int(i) for i in vec) if i not in dropped]
        return tokenizer.decode(kept, skip_special_tokens=False, **kwargs)


def checkpoint_dictionary(path):
    """
    The ``.dict`` ParlAI saved with the checkpoint ``path`` (a model file, or its
    ``.checkpoint``), None if there is none.
    """
    candidates = [path + '.dict']
    if path.endswith('.checkpoint'):
        candidates.append(path[: -len('.checkpoint')] + '.dict')
    return next((c for c in candidates if os.path.isfile(c)), None)


def label_token_list(tokens):
    return ','.join(tokens) if tokens else "'' (none: the labels are plain text)"


def _set(message, key, value):
    if key in message:
        message.force_set(key, value)
    else:
        message[key] = value


class CanaryAgent(AsksAgainOnEmptyInput, T5Agent):
    """
    Canary: T5 generating the safety label and RoTs; see the module docstring.
    """

    @classmethod
    def add_cmdline_args(
        cls, parser: ParlaiParser, partial_opt: Optional[Opt] = None
    ) -> ParlaiParser:
        super().add_cmdline_args(parser, partial_opt=partial_opt)
        accept_t5_directory(parser, DEFAULT_T5_MODEL_ARCH, 'the paper')
        group = parser.add_argument_group('Canary')
        group.add_argument(
            '--canary-safety-schema',
            choices=list(SAFETY_SCHEMAS),
            default='five',
            help='safety_label of the replies (and safety_acc): five released levels, or three: '
            'casual / needs caution / needs intervention (paper §2.3)',
        )
        group.add_argument(
            '--canary-pretrained-on',
            choices=['none'] + list(PRETRAINING_TASKS),
            default='none',
            help='the norm corpus of stage 1 (paper §4.1): a run with it must start from a '
            'stage-1 model of that corpus (--init-model), else it stops; set by the '
            'prosocial/canary_<corpus> presets',
        )
        # §4.1 / C.1: the labels are special tokens (module docstring); a saved model.opt wins
        parser.set_defaults(special_tok_lst=','.join(SAFETY_LABELS))
        return parser

    @staticmethod
    def dictionary_class():
        # the HF tokenizer is prebuilt: train_model then skips building a ParlAI dictionary
        # (a whole pass over the training data that T5 never uses)
        return CanaryDictionaryAgent

    def build_dictionary(self):
        # T5Agent's ignores --special-tok-lst; TorchAgent's would, with T5's dictionary, refuse it
        d = CanaryDictionaryAgent(self.opt)
        self.special_toks = self._get_special_tokens()
        if self.special_toks:
            d.add_additional_special_tokens(self.special_toks)
        return d

    def load_state_dict(self, state_dict):
        """
        A checkpoint with fewer token embeddings than the model (``--init-model`` of a T5 trained
        without the label tokens) keeps its rows; the label tokens' rows are the model's new ones.
        (ParlAI's own resizing is never reached: it looks for 'embedding' in the size-mismatch
        message, and T5's names are ``shared``, ``embed_tokens`` and ``lm_head``.)
        """
        if getattr(self, 'special_toks', None):
            own = self.model.state_dict()
            state_dict = dict(state_dict)
            for key, value in list(state_dict.items()):
                target = own.get(key)
                if (
                    target is not None
                    and value.dim() == 2
                    and value.shape[1:] == target.shape[1:]
                    and value.shape[0] < target.shape[0]
                ):
                    grown = target.clone()
                    grown[: value.shape[0]] = value
                    state_dict[key] = grown
        try:
            super().load_state_dict(state_dict)
        except RuntimeError as error:
            if 'size mismatch' not in str(error) and 'state_dict' not in str(error):
                raise
            path = self._checkpoint_to_load
            arch = (saved_options(path + '.opt', missing_ok=True) or {}).get('t5_model_arch')
            first = next((line.strip() for line in str(error).splitlines()
                          if 'size mismatch' in line or 'key(s)' in line), '')
            raise ModelFileError(
                f'{self._checkpoint_option()} {path}: its weights do not fit the T5 of '
                f'--t5-model-arch {self.opt["t5_model_arch"]} with the label tokens '
                f'{label_token_list(self.special_toks)} ({first[:200]}); it was trained on '
                f'--t5-model-arch {arch}: give that T5 and the --special-tok-lst it was trained '
                'with'
            ) from None

    def __init__(self, opt: Opt, shared=None):
        if shared is None:
            check_stage_one(opt)
            check_model_files_of(CanaryAgent, opt)
        # before T5Agent builds the model: will a ParlAI checkpoint be loaded into it?
        self._checkpoint_to_load, self._fine_tuning = self._get_init_model(opt, shared)
        super().__init__(opt, shared)
        self.safety_schema = self.opt.get('canary_safety_schema') or 'five'

    def _checkpoint_option(self):
        return '--init-model' if self._fine_tuning else '--model-file'

    def check_label_tokens(self):
        """
        Before a checkpoint's weights are loaded: stop with one line unless this run gives the
        label tokens the same ids as the checkpoint did, i.e. the tokens that its ``.dict`` holds
        beyond the T5 tokenizer's vocabulary, in that order (what ``--special-tok-lst`` added
        when it was trained). With other tokens, fewer, none, or another order the embedding
        rows would be read as other labels (or not fit at all). Fine-tuning (``--init-model``)
        may add tokens after the checkpoint's (its rows are kept, the new ones grow). A
        dictionary that is not the tokenizer of ``--t5-model-arch`` at all is another T5.
        """
        path = self._checkpoint_to_load
        dict_file = checkpoint_dictionary(path) if path else None
        if dict_file is None:
            return  # no record of its tokens: load_state_dict checks the shapes
        saved = dictionary_tokens(dict_file)
        vocabulary = self.dict.hf_tokenizer.get_vocab()
        base_size = getattr(self.dict, 'base_size', len(vocabulary))
        base = {token for token, index in vocabulary.items() if index < base_size}
        saved_added = [token for token in saved if token not in base]
        added = sorted((t for t, i in vocabulary.items() if i >= base_size), key=vocabulary.get)
        option = self._checkpoint_option()
        fewer = len(saved) - len(saved_added) < len(base)
        if fewer and set(saved_added) - set(added) and not dictionary_ends_inside_a_line(dict_file):
            arch = (saved_options(path + '.opt', missing_ok=True) or {}).get('t5_model_arch')
            raise ModelFileError(
                f'{option} {path}: its dictionary {dict_file} is not the tokenizer of '
                f'--t5-model-arch {self.opt["t5_model_arch"]} ({len(saved_added)} of its '
                f'{len(saved)} tokens are not in it); the checkpoint was trained on '
                f'--t5-model-arch {arch}: give that T5'
            )
        if fewer:
            raise ModelFileError(
                f'{option} {path}: its dictionary {dict_file} holds {len(saved)} tokens, fewer '
                f'than the {len(base)} of the tokenizer of --t5-model-arch '
                f'{self.opt["t5_model_arch"]}; is it cut short? Copy it again with the model file'
            )
        grows = self._fine_tuning and added[: len(saved_added)] == saved_added
        if added != saved_added and not grows:
            given = self.opt.get('special_tok_lst') or "''"
            wanted = ','.join(saved_added) or "''"
            raise ModelFileError(
                f'{option} {path}: trained with the label tokens {label_token_list(saved_added)} '
                f'(ids {base_size} on, its dictionary {dict_file}), but this run adds '
                f'{label_token_list(added)} (--special-tok-lst {given}, from the command line or '
                f'{path}.opt): the ids would name other labels. Load it with --special-tok-lst '
                f'{wanted}'
            )

    def build_model(self) -> CanaryT5Model:
        if self._checkpoint_to_load:
            self.check_label_tokens()
        model = t5_loaded(self.opt, 'model', lambda: CanaryT5Model(
            self.opt, self.dict, from_config=self._checkpoint_to_load is not None
        ))
        if self.opt['t5_model_parallel']:
            model.t5.parallelize()
        return model

    def eval_step(self, batch):
        output = super().eval_step(batch)
        if output is not None and output.text is not None and batch.labels is not None:
            self._record_safety_metrics(output.text, batch.labels)
        return output

    def _record_safety_metrics(self, predictions, golds):
        """
        Table 2's metrics of generated Canary outputs against gold Canary targets, one value per
        example (so they aggregate over batches): ``safety_acc`` (in ``--canary-safety-schema``),
        ``safety_acc_3way`` (both sides mapped to the three-way schema), and, on the examples
        whose gold target has RoTs, ``rot_f1`` and ``rot_bleu-4`` of the generated RoT text (what
        follows the label token; '' without one) against the gold RoT text.
        """
        correct, correct3, rot_f1, rot_bleu = [], [], [], []
        for predicted, gold in zip(predictions, golds):
            gold_label, gold_rots = parse_canary_output(gold, self.safety_schema)
            label, rots = parse_canary_output(predicted, self.safety_schema)
            gold3, _ = parse_canary_output(gold, 'three')
            label3, _ = parse_canary_output(predicted, 'three')
            correct.append(AverageMetric(int(label == gold_label)) if gold_label else None)
            correct3.append(AverageMetric(int(label3 == gold3)) if gold3 else None)
            if gold_label and gold_rots:
                rots = rots if label else ''  # no label token: not a Canary output
                rot_f1.append(F1Metric.compute(rots, [gold_rots]))
                rot_bleu.append(BleuMetric.compute(rots, [gold_rots], 4))
            else:
                rot_f1.append(None)
                rot_bleu.append(None)
        if all(c is not None for c in correct):
            self.record_local_metric('safety_acc', correct)
        if all(c is not None for c in correct3):
            self.record_local_metric('safety_acc_3way', correct3)
        if any(m is not None for m in rot_f1):
            self.record_local_metric('rot_f1', rot_f1)
            self.record_local_metric('rot_bleu-4', rot_bleu)

    def record_per_token_metrics(self, batch, loss_per_token):
        """
        ParlAI's per-token metrics, and ``rot_ppl``: the perplexity of the gold RoTs, the target
        tokens after the label (and the end token), on examples whose gold target has RoTs.

        The label's length in tokens is that of the label alone (one token, a special token; a
        few word pieces for a model trained with the labels as text, which T5's tokenizer does not
        split differently before a space).
        """
        super().record_per_token_metrics(batch, loss_per_token)
        if self.is_training or batch.labels is None:
            return
        import torch

        mask = batch.label_vec.ne(self.NULL_IDX)
        keep = []
        for row, gold in enumerate(batch.labels):
            label, rots = parse_canary_output(gold, 'five')
            if not label or not rots:
                keep.append(False)
                continue
            n_label = len([t for t in self.dict.txt2vec(label) if t != self.END_IDX])
            mask[row, :n_label] = False
            keep.append(True)
        keep_t = torch.tensor(keep, device=mask.device).unsqueeze(1)
        mask = mask & keep_t
        per_example = PPLMetric.from_mask(loss_per_token, mask)
        self.record_local_metric(
            'rot_ppl', [m if k else None for m, k in zip(per_example, keep)]
        )

    def batch_act(self, observations):
        replies = super().batch_act(observations)
        for reply in replies:
            if reply is not None and reply.get('text') is not None:
                label, rots = parse_canary_output(reply['text'], self.safety_schema)
                _set(reply, 'safety_label', label)
                _set(reply, ROTS_TEXT_FIELD, rots)
        return replies

    def _generate(self, batch, beam_size, max_ts, prefix_tokens=None, overrides=None):
        """
        ParlAI's T5 generation, with sampling that works: ParlAI's T5 agent turns sampling on only
        for inference names ParlAI does not have (``topk``, ``topp``), so ``--inference nucleus``
        decoded greedily; here ``nucleus`` samples with ``--topp`` and ``topk`` with ``--topk``.
        """
        method = self.opt.get('inference', 'greedy')
        if method == 'nucleus':
            overrides = dict(overrides or {}, do_sample=True, top_p=self.opt['topp'], top_k=0)
        elif method == 'topk':
            overrides = dict(overrides or {}, do_sample=True, top_k=self.opt['topk'])
        return super()._generate(batch, beam_size, max_ts, prefix_tokens, overrides)

    def classify_batch(self, contexts: List, seed: Optional[int] = None) -> List[tuple]:
        """
        ``[(safety_label, rots), ...]`` for dialogue contexts (each a string, or a list of turns,
        oldest first); generates even if the model was saved with ``--skip-generation true``.

        With ``seed`` (for sampled RoTs: ``--inference nucleus`` or ``topk``), each context is
        generated alone under its own seed, derived from ``seed`` and the context's text, so the
        same context gets the same sample whatever the batch it comes in; the global random state
        is left as it was.
        """
        if seed is not None:
            return [self._classify_seeded(context, seed) for context in contexts]
        return self._classify(contexts)

    def _classify(self, contexts):
        skip_generation = self.skip_generation
        self.skip_generation = False
        try:
            agents = [self.clone() for _ in contexts]
            observations = [
                agent.observe(Message({'text': context_text(context), 'episode_done': True}))
                for agent, context in zip(agents, contexts)
            ]
            replies = self.batch_act(observations)
        finally:
            self.skip_generation = skip_generation
        return [(reply['safety_label'], reply[ROTS_TEXT_FIELD]) for reply in replies]

    def _classify_seeded(self, context, seed):
        import hashlib

        import torch

        text = context_text(context)
        digest = hashlib.sha256(f'{seed}\n{text}'.encode('utf-8')).digest()
        devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(int.from_bytes(digest[:8], 'little') % (2**63))
            return self._classify([context])[0]

    def classify(self, context) -> tuple:
        """
        ``(safety_label, rots)`` of one dialogue context (a string, or a list of turns).
        """
        return self.classify_batch([context])[0]
