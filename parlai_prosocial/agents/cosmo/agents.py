"""
COSMO (``-m cosmo``): ParlAI's T5 agent (``hugging_face/t5``) with COSMO's input and decoding.

**Input.** The model reads ``narrative <sep> instruction <sep> u1 <turn> u2 ...``, built by the one
implementation the ``soda`` and ``prosocial:cosmo`` teachers use
(:func:`parlai_prosocial.formats.cosmo_input`, which is the released chat code's
``set_input``): the turns are the conversation so far (ParlAI's history: the partner's turns and
this agent's own replies, oldest first; a message's lines are separate turns, ``--split-lines``
is on by default, so a ``toxichat`` thread or a ``soda:dialogue`` text of several turns gives one
turn per line); an empty narrative or instruction is left out with its ``<sep>``.

* The narrative and the instruction of a conversation come from ``--cosmo-narrative`` and
  ``--cosmo-instruction``, or from the message fields ``cosmo_narrative`` /
  ``cosmo_instruction`` (a teacher or another agent sets them; a field holds from its message to
  the end of the episode, ``''`` leaves the part out). Unset, they are left out, except in
  ``parlai interactive``, where they default to what the released chat uses when its user leaves
  them empty ("Cosmo is having a friendly conversation with a friend." / "You are Cosmo and you
  are talking to a friend."). Either way they are given once per conversation, never per turn.
* **Who formats.** ``soda`` and ``prosocial:cosmo`` already give COSMO's input as ``text`` (they
  must: the training drops of §4 are theirs). ``--cosmo-formatter auto`` (default): a message whose
  text already holds a ``<sep>`` or ``<turn>`` marker is a complete input and goes to the model as
  it is (the history is not added, nothing is wrapped again); any other text is a turn of a
  conversation the agent formats. ``agent``: always format; ``teacher``: always take the text as
  it is (plain ``hugging_face/t5`` behaviour, e.g. training only on the two formatted teachers,
  where a training example whose narrative and instruction were both dropped has no marker
  left: with ``auto`` it is formatted from the history, which for these one-example episodes is
  the same text unless ``--cosmo-narrative``/``--cosmo-instruction`` are set).
* **Canary in front** (``-m canary_guard --guarded-model cosmo``): the guard hands the RoTs of a
  turn over in the ``cosmo_rots`` field (:meth:`CosmoAgent.steer_observation`); for that turn only
  the narrative becomes the conversation's narrative followed by a ProsocialDialog situation made
  from the RoTs as App. C makes them ("Cosmo is trying to gently convince a friend it's wrong to
  ...", :func:`parlai_prosocial.formats.situation`, with ``--cosmo-name``). This
  steers the conversations the agent formats; a text that already is a COSMO input is kept.

**Model.** ``--t5-model-arch`` takes a hub name (default ``allenai/cosmo-xl``, the released
COSMO-3B) or a local directory written by ``save_pretrained`` (Canary's solution,
:func:`parlai_prosocial.agents.canary.agents.accept_t5_directory`); with a ParlAI checkpoint to
load (``-mf`` that exists, ``--init-model``), T5 is built from the config alone (Canary's
:class:`~parlai_prosocial.agents.canary.agents.CanaryT5Model`). The tokenizer is the checkpoint's;
the input is tokenized whole (no truncation unless ``--text-truncate``, which keeps the end), as
the released code does; replies are decoded with ``skip_special_tokens`` and without
``clean_up_tokenization_spaces``, as the released code does.

**Decoding.** By default as the released chat code: ``--inference nucleus --topp 0.95``,
temperature 1, at most 128 new tokens (``--label-truncate 128``), with HF's default top-k (50)
left in force as the released ``generate`` call leaves it. ParlAI's T5 agent does not sample with
``--inference nucleus`` (it passes ``top_p`` but ``do_sample=False``); this agent does. Every
``generate`` call is seeded with (``--cosmo-seed``, the number of calls so far) in a forked torch
RNG, so the same run gives the same replies and nothing else's randomness is disturbed.
``--inference greedy`` and ``--inference beam --beam-size N`` are ParlAI's.

Every reply carries the exact text the model read in ``cosmo_input`` (``parlai interactive
--display-add-fields cosmo_input`` shows it).
"""

from typing import Optional

from parlai.agents.hugging_face.dict import T5DictionaryAgent
from parlai.agents.hugging_face.t5 import T5Agent
from parlai.core.opt import Opt
from parlai.core.params import ParlaiParser
from parlai.core.torch_agent import History

from parlai_prosocial.agents import check_model_files_of
from parlai_prosocial.agents.canary.agents import CanaryT5Model, accept_t5_directory, t5_loaded
from parlai_prosocial.parlai_internals import check_relied_on
from parlai_prosocial.formats import cosmo_input, situation

from . import (
    CHAT_INSTRUCTION,
    CHAT_MAX_NEW_TOKENS,
    CHAT_NARRATIVE,
    CHAT_TOP_P,
    DEFAULT_NAME,
    FORMATTERS,
    INPUT_FIELD,
    INSTRUCTION_FIELD,
    NARRATIVE_FIELD,
    RELEASED_MODEL,
    ROTS_FIELD,
    has_cosmo_markers,
)


# the ParlAI code the classes below extend or re-implement (warns once if it changed)
check_relied_on(
    'parlai.agents.hugging_face.t5:T5Agent._generate',
    'parlai.core.torch_agent:TorchAgent._set_text_vec',
    'parlai.core.torch_agent:History.update_history',
    'parlai.agents.hugging_face.dict:HuggingFaceDictionaryAgent.txt2vec',
)


def steered_narrative(narrative, rots, name=DEFAULT_NAME):
    """
    The narrative for a turn steered by RoTs: the conversation's narrative (if any) followed by
    the App. C situation made from the RoTs.

    >>> steered_narrative('Ann meets Bo at a party.', "It's wrong to lie", 'Ann')
    "Ann meets Bo at a party. Ann is trying to gently convince a friend it's wrong to lie."
    """
    rots = (rots or '').strip()
    if not rots:
        return narrative
    steer = situation(name, rots)
    return f'{narrative} {steer}' if narrative else steer


class CosmoDictionaryAgent(T5DictionaryAgent):
    """
    The checkpoint's T5 tokenizer, used as the released chat code uses it: the whole text is
    encoded (ParlAI's T5 dictionary cuts it at 512 tokens from the right, dropping the latest
    turns; ParlAI's own ``--text-truncate`` still applies, keeping the end), and decoding keeps
    the spaces as generated (``clean_up_tokenization_spaces=False``).
    """

    def get_tokenizer(self, opt):
        # also where train_model builds the dictionary, before any agent
        parlai_get_tokenizer = super().get_tokenizer
        return t5_loaded(opt, 'tokenizer', lambda: parlai_get_tokenizer(opt))

    def txt2vec(self, text, vec_type=list):
        return self.hf_tokenizer.encode(
            self.format_text(text), add_special_tokens=self.add_special_tokens
        )

    def vec2txt(self, vec, **kwargs):
        kwargs.setdefault('clean_up_tokenization_spaces', False)
        return super().vec2txt(vec, **kwargs)


class CosmoHistory(History):
    """
    ParlAI's history plus the conversation's narrative and instruction (from message fields, kept
    until the history is reset at the end of the episode) and this turn's steering RoTs.
    """

    def __init__(self, opt, *args, **kwargs):
        super().__init__(opt, *args, **kwargs)
        self._clear_parts()

    def _clear_parts(self):
        self.narrative = None  # None: the agent's option; '' or text: from a message field
        self.instruction = None
        self.rots = None
        self.text = None

    def reset(self):
        super().reset()
        self._clear_parts()

    def update_history(self, obs, temp_history=None):
        super().update_history(obs, temp_history=temp_history)
        if obs.get(NARRATIVE_FIELD) is not None:
            self.narrative = obs[NARRATIVE_FIELD]
        if obs.get(INSTRUCTION_FIELD) is not None:
            self.instruction = obs[INSTRUCTION_FIELD]
        self.rots = obs.get(ROTS_FIELD) or None  # this turn only
        self.text = obs.get(self.field)


class CosmoAgent(T5Agent):
    """
    COSMO on ParlAI's T5 agent; see the module docstring.
    """

    @classmethod
    def add_cmdline_args(
        cls, parser: ParlaiParser, partial_opt: Optional[Opt] = None
    ) -> ParlaiParser:
        super().add_cmdline_args(parser, partial_opt=partial_opt)
        accept_t5_directory(parser, RELEASED_MODEL, 'the released COSMO-3B')
        # the released chat code's decoding, and its turns one per line
        parser.set_defaults(
            inference='nucleus',
            topp=CHAT_TOP_P,
            label_truncate=CHAT_MAX_NEW_TOKENS,
            split_lines=True,
        )
        group = parser.add_argument_group('COSMO')
        group.add_argument(
            '--cosmo-narrative',
            type=str,
            default=None,
            help='situation narrative of every conversation (a message field cosmo_narrative '
            'overrides it for its episode); unset: none, except in parlai interactive: '
            f'"{CHAT_NARRATIVE}" as the released chat code; "" for none',
        )
        group.add_argument(
            '--cosmo-instruction',
            type=str,
            default=None,
            help='role instruction of every conversation, e.g. "Imagine you are Cosmo and speak '
            'to Ann" (message field cosmo_instruction overrides it); unset: none, except in '
            f'parlai interactive: "{CHAT_INSTRUCTION}"; "" for none',
        )
        group.add_argument(
            '--cosmo-formatter',
            choices=FORMATTERS,
            default='auto',
            help='who builds COSMO\'s input: auto: a text already holding <sep> or <turn> is '
            'taken as it is (the soda and prosocial:cosmo teachers), any other text is a turn the '
            'agent formats; agent: always format; teacher: never',
        )
        group.add_argument(
            '--cosmo-seed',
            type=int,
            default=0,
            help='seed of sampled decoding: generate call n is seeded with (seed, n); '
            '-1: unseeded (torch\'s global generator)',
        )
        group.add_argument(
            '--cosmo-name',
            type=str,
            default=DEFAULT_NAME,
            help='COSMO\'s name in the situation made from Canary\'s RoTs ("NAME is trying to '
            'gently convince a friend ...") under canary_guard',
        )
        return parser

    @staticmethod
    def dictionary_class():
        return CosmoDictionaryAgent

    @classmethod
    def history_class(cls):
        return CosmoHistory

    def __init__(self, opt: Opt, shared=None):
        # before T5Agent builds the model: will a ParlAI checkpoint be loaded into it?
        if shared is None:
            check_model_files_of(CosmoAgent, opt)
        self._checkpoint_to_load = self._get_init_model(opt, shared)[0]
        super().__init__(opt, shared)
        self.formatter = self.opt.get('cosmo_formatter') or 'auto'
        seed = self.opt.get('cosmo_seed')
        self.cosmo_seed = None if seed is None or seed < 0 else int(seed)
        self._generate_calls = 0

    def build_dictionary(self):
        return CosmoDictionaryAgent(self.opt)

    def build_model(self) -> CanaryT5Model:
        model = t5_loaded(
            self.opt,
            'model',
            lambda: CanaryT5Model(
                self.opt, self.dict, from_config=self._checkpoint_to_load is not None
            ),
        )
        if self.opt['t5_model_parallel']:
            model.t5.parallelize()
        return model

    # ------------------------------------------------------------------ the input

    def _default_part(self, key, chat_default):
        value = self.opt.get(key)
        if value is None and self.opt.get('interactive_mode'):
            return chat_default
        return value or ''

    def cosmo_text(self, history: CosmoHistory) -> str:
        """
        The model input for the conversation in ``history`` (see the module docstring).
        """
        text = history.text or ''
        if self.formatter == 'teacher' or (
            self.formatter == 'auto' and has_cosmo_markers(text)
        ):
            return text
        narrative = history.narrative
        if narrative is None:
            narrative = self._default_part('cosmo_narrative', CHAT_NARRATIVE)
        instruction = history.instruction
        if instruction is None:
            instruction = self._default_part('cosmo_instruction', CHAT_INSTRUCTION)
        if history.rots:
            narrative = steered_narrative(
                narrative, history.rots, self.opt.get('cosmo_name') or DEFAULT_NAME
            )
        return cosmo_input(narrative, instruction, history.history_raw_strings)

    def _set_text_vec(self, obs, history, truncate):
        if 'text' in obs and obs['text'] is not None and 'text_vec' not in obs:
            text = self.cosmo_text(history)
            obs['full_text'] = text
            # even an empty input is a sequence for T5 (the end token), as in the released code
            obs['text_vec'] = self.dict.txt2vec(text)
            obs['full_text_vec'] = obs['text_vec']
        return super()._set_text_vec(obs, history, truncate)

    def batch_act(self, observations):
        replies = super().batch_act(observations)
        for reply, observation in zip(replies, observations):
            if reply is not None and observation is not None and 'full_text' in observation:
                reply[INPUT_FIELD] = observation['full_text']
        return replies

    def steer_observation(self, observation, rots):
        """
        ``observation`` with ``rots`` to steer this one turn (used by ``canary_guard``): they
        become an App. C situation added to the conversation's narrative.
        """
        if ROTS_FIELD in observation:
            observation.force_set(ROTS_FIELD, rots)
        else:
            observation[ROTS_FIELD] = rots
        return observation

    # ------------------------------------------------------------------ decoding

    def _generate(self, batch, beam_size, max_ts, prefix_tokens=None, overrides=None):
        import torch

        params = {'max_new_tokens': max_ts, 'max_length': None}
        if self.opt.get('inference') == 'nucleus':
            # what the released chat code asks HF for (ParlAI's T5 agent forgets do_sample)
            model = self.model.module if hasattr(self.model, 'module') else self.model
            params.update(
                do_sample=True,
                num_beams=1,
                top_p=self.opt['topp'],
                top_k=model.t5.generation_config.top_k,
            )
        params.update(overrides or {})
        self._generate_calls += 1
        if self.cosmo_seed is None:
            return super()._generate(batch, beam_size, max_ts, prefix_tokens, params)
        devices = [batch.text_vec.device] if batch.text_vec.is_cuda else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed((self.cosmo_seed * 1_000_003 + self._generate_calls) % (1 << 63))
            return super()._generate(batch, beam_size, max_ts, prefix_tokens, params)
