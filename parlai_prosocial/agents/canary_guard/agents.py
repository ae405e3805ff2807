"""
Canary guard (``-m canary_guard``): Canary reads the dialogue, the guarded generator answers
(ProsocialDialog §6.2, App. D.2).

Every turn, Canary (``--canary-model-file``, e.g. ``zoo:canary/model``) classifies the dialogue so
far (the turns joined by newlines, the ``prosocial:safety`` input) and, by its label:

* ``__casual__`` (or an output without a label token: nothing to steer with): the generator
  observes the partner's message unchanged, exactly what it would observe unguarded;
* any caution level: the RoTs steer the generator (``--guard-mode``):

  - ``context`` (default for dialogue models, every generator except ``hugging_face/gpt2``): the
    RoTs are added to the context *for this turn only*, after the partner's turn, separated by
    the generator's ``--delimiter``. For a ParlAI ``TorchAgent`` this is the ``temp_history`` of
    its observation (ParlAI's mechanism for one-turn context: the RoTs never enter its history,
    so later turns are not conditioned on stale RoTs); other agents, which keep no history,
    get the RoTs as the last line of ``text``; a generator with a ``steer_observation(message,
    rots)`` method steers itself: COSMO (``--guarded-model cosmo``) puts them into its narrative
    slot for this turn, as a ProsocialDialog situation (SODA App. C) after the user's narrative;
  - ``prompt`` (default for ``hugging_face/gpt2``): the paper's prompt for pre-trained LMs,
    rebuilt from the whole dialogue every turn (the LM keeps no history of its own), P_r =
    "The following is a conversation between Speaker 1 and Speaker 2. Speaker 2 is trying to
    gently explain {RoTs}.\\n\\nSpeaker 1: ...\\nSpeaker 2:"; casual turns get P_0 (the same
    without the RoT sentence: App. C.3/D.2's plain LM dialogue agent); the reply is the
    continuation up to its first line break or ``Speaker N:``;

* ``__needs_intervention__``: steered as above; with ``--guard-help-text TEXT`` (an extension,
  off by default: the paper adds nothing) the reply also ends with that pointer to human help.

A caution or intervention label without RoTs steers nothing: the turn passes unchanged and is not
counted as steered. Canary's RoTs are sampled by default, as the paper does (App. D.2: "we first
sample relevant RoTs r from Canary"): nucleus sampling with ``--guard-rots-topp`` (0.9; the paper
gives no value), each context under its own seed from ``--guard-rots-seed`` and its text, so runs
repeat and a context gets the same RoTs at any batch size; ``--guard-rots greedy`` decodes them
greedily.

Replies are the generator's message (its fields, e.g. Prost's ``rots_text`` and its ``metrics``)
with ``text`` as said to the partner and the decision: ``safety_label`` (Canary's label token),
``guard_rots_text`` (Canary's RoT text), ``guard_action`` (what was done: ``pass`` / ``steer`` /
``steer+help`` / ``help``) and, with a help pointer, ``help_text``. Show them with ``parlai
interactive --display-add-fields safety_label,guard_rots_text,guard_action``. ``guard_steered`` and ``guard_help`` (shares of turns) are added
to the metrics.

History: the guard keeps the dialogue of each conversation (the partner's turns and its own
replies without the help pointer, or the gold label under ``--use-reply label`` when the teacher
gives one, as ``TorchAgent`` does), which is what Canary reads; the generator keeps its own
history as it would unguarded (in ``context`` mode) or gets the whole dialogue as a prompt (in
``prompt`` mode). Both are reset at the end of an episode. ``batch_act`` runs Canary on the whole
batch at once, then the generator on the whole batch, so any ``--batchsize`` works.
"""

import itertools
import shlex
import weakref
from typing import List, Optional

from parlai.core.agents import Agent, create_agent, create_agent_from_shared
from parlai.core.message import Message
from parlai.core.metrics import AverageMetric
from parlai.core.opt import Opt
from parlai.core.params import ParlaiParser
from parlai.utils import logging

from parlai_prosocial.agents import AsksAgainOnEmptyInput, check_model_file
from parlai_prosocial.agents.canary import context_text, load_canary
from parlai_prosocial.errors import ProsocialOptionError
from parlai_prosocial.formats import (
    GUARD_ROTS_TEXT_FIELD,
    NEEDS_CAUTION,
    NEEDS_INTERVENTION,
    THREE_WAY_SAFETY,
    split_rot_response,
)

from . import HELP, PASS, STEER, STEER_AND_HELP, lm_prompt, lm_reply

#: generators that are pre-trained language models, steered with the paper's prompt by default
LANGUAGE_MODELS = ('hugging_face/gpt2',)

#: Observation field naming the conversation (the agent copy, in a batch world) whose observation
#: it is: a number, looked up in the copies' shared registry, so messages hold data, not agents.
_OBSERVED = '_canary_guard_copy'


def _set(message, key, value):
    if key in message:
        message.force_set(key, value)
    else:
        message[key] = value


def decide(safety_label: str) -> str:
    """
    The guard's action for a Canary label (five-level or three-way).
    """
    three = THREE_WAY_SAFETY.get(safety_label, safety_label)
    if three == NEEDS_INTERVENTION:
        return STEER_AND_HELP
    if three == NEEDS_CAUTION:
        return STEER
    return PASS  # __casual__, or no label token: nothing to steer with


def act(decision: str, rots: str, help_text: str) -> str:
    """
    What the guard does with Canary's ``decision`` (:func:`decide`): it steers only with RoTs
    (a caution label without RoTs passes the turn unchanged) and adds the help pointer only when
    one is configured; ``help`` is a needs-intervention turn without RoTs but with a pointer.
    """
    steer = decision != PASS and bool((rots or '').strip())
    helps = decision == STEER_AND_HELP and bool(help_text)
    if steer:
        return STEER_AND_HELP if helps else STEER
    return HELP if helps else PASS


class CanaryGuardAgent(AsksAgainOnEmptyInput, Agent):
    """
    Canary in front of any ParlAI generator; see the module docstring.
    """

    @classmethod
    def add_cmdline_args(
        cls, parser: ParlaiParser, partial_opt: Optional[Opt] = None
    ) -> ParlaiParser:
        group = parser.add_argument_group('Canary guard')
        group.add_argument(
            '--guarded-model', type=str, default=None,
            help='the generator to guard, as for -m (e.g. transformer/generator, prost, '
            'hugging_face/gpt2, repeat_query); optional with --guarded-model-file',
        )
        group.add_argument(
            '--guarded-model-file', type=str, default=None,
            help='model file of the generator to guard, as for -mf (zoo: paths work)',
        )
        group.add_argument(
            '--guarded-args', type=str, default='',
            help="more command-line options of the generator, one string, e.g. "
            "\"--beam-size 5 --inference beam\" or \"--fixed-response 'Hi.'\"",
        )
        group.add_argument(
            '--canary-model-file', type=str, default='zoo:canary/model',
            help='the Canary model file',
        )
        group.add_argument(
            '--guard-mode', choices=['auto', 'context', 'prompt'], default='auto',
            help='how RoTs steer the generator: context (added to the dialogue model\'s context '
            'for the turn), prompt (the paper\'s LM prompt, App. D.2); auto: prompt for '
            f'{", ".join(LANGUAGE_MODELS)}, context otherwise',
        )
        group.add_argument(
            '--guard-help-text', type=str, default='',
            help='pointer to human help added to needs-intervention replies (an extension: the '
            'paper adds none; default none), e.g. canary_guard.DEFAULT_HELP_TEXT',
        )
        group.add_argument(
            '--guard-rots', choices=['sample', 'greedy'], default='sample',
            help='how Canary\'s RoTs are decoded: sampled (the paper, App. D.2: nucleus with '
            '--guard-rots-topp, seeded with --guard-rots-seed) or greedy',
        )
        group.add_argument(
            '--guard-rots-topp', type=float, default=0.9,
            help='nucleus probability mass when --guard-rots sample (the paper gives none)',
        )
        group.add_argument(
            '--guard-rots-seed', type=int, default=0,
            help='seed of the sampled RoTs: each context gets its own seed from it and its '
            'text, so a context gets the same RoTs at any batch size',
        )
        return parser

    def __init__(self, opt: Opt, shared=None):
        super().__init__(opt, shared)
        self.id = 'CanaryGuard'
        self.help_text = (opt.get('guard_help_text') or '').strip()
        if shared is None:
            self._check_model_files(opt)
            self.generator = self._build_generator(opt)
            decoding = dict(inference='greedy', beam_size=1)
            if opt.get('guard_rots', 'sample') == 'sample':
                decoding = dict(inference='nucleus', beam_size=1,
                                topp=opt.get('guard_rots_topp', 0.9))
            self.canary = load_canary(
                opt['canary_model_file'],
                datapath=opt['datapath'],
                interactive_mode=opt.get('interactive_mode', False),
                **decoding,
            )
            # (load_canary says nothing of the decoding it sets: ParlAI's "Overriding
            # opt["inference"]" read as if the guarded model's decoding had changed)
            how = 'greedily' if decoding['inference'] == 'greedy' else (
                f'by nucleus sampling (--guard-rots-topp {decoding["topp"]}, seeded by '
                f'--guard-rots-seed {opt.get("guard_rots_seed", 0)})'
            )
            logging.info(f'canary_guard: Canary ({opt["canary_model_file"]}) decodes its RoTs '
                         f'{how} (--guard-rots); the guarded model decodes as it was saved')
            self.mode = self._mode(opt, self.generator)
        else:
            self.generator = create_agent_from_shared(shared['generator'])
            self.canary = shared['canary']  # stateless use: classify_batch clones per call
            self.mode = shared['mode']
        # the original and its copies (one per conversation of a batch world) share a registry,
        # where batch_act finds each observation's conversation state
        self._copies = shared['copies'] if shared else weakref.WeakValueDictionary()
        self._numbers = shared['copy_numbers'] if shared else itertools.count()
        self._number = next(self._numbers)
        self._copies[self._number] = self
        self._start_conversation()

    def _start_conversation(self):
        # the state of one conversation, all of it
        self.turns: List[str] = []  # the dialogue so far, as Canary reads it
        self.observation = None
        self._generator_reply = None  # what the generator said, for its self_observe
        self._generator_observed = False
        self._reply_for_history = None

    # ------------------------------------------------------------------ construction

    @staticmethod
    def _check_model_files(opt):
        from parlai.core.build_data import modelzoo_path

        from parlai_prosocial.agents.canary.agents import CanaryAgent

        if not opt.get('guarded_model') and not opt.get('guarded_model_file'):
            raise ProsocialOptionError(
                'canary_guard needs --guarded-model and/or --guarded-model-file'
            )
        path = modelzoo_path(opt['datapath'], opt['canary_model_file'])
        check_model_file(path, '--canary-model-file', CanaryAgent)
        if opt.get('guarded_model_file'):
            path = modelzoo_path(opt['datapath'], opt['guarded_model_file'])
            check_model_file(path, '--guarded-model-file')

    @staticmethod
    def _build_generator(opt):
        args = []
        if opt.get('guarded_model'):
            args += ['--model', opt['guarded_model']]
        if opt.get('guarded_model_file'):
            args += ['--model-file', opt['guarded_model_file']]
        args += ['--datapath', opt['datapath']]
        args += shlex.split(opt.get('guarded_args') or '')
        gen_opt = ParlaiParser(True, True).parse_args(args)
        for key in ('interactive_mode', 'datatype'):
            if key in opt:
                gen_opt[key] = opt[key]
                gen_opt['override'] = dict(gen_opt.get('override', {}), **{key: opt[key]})
        return create_agent(gen_opt, requireModelExists=bool(opt.get('guarded_model_file')))

    @staticmethod
    def _mode(opt, generator):
        if opt.get('guard_mode', 'auto') != 'auto':
            return opt['guard_mode']
        return 'prompt' if generator.opt.get('model') in LANGUAGE_MODELS else 'context'

    def share(self):
        shared = super().share()
        shared['generator'] = self.generator.share()
        shared['canary'] = self.canary
        shared['mode'] = self.mode
        shared['copies'] = self._copies
        shared['copy_numbers'] = self._numbers
        return shared

    # ------------------------------------------------------------------ the dialogue

    def reset(self):
        super().reset()
        self._start_conversation()
        self.generator.reset()

    def observe(self, observation):
        if self.typed_nothing(observation):
            return observation
        observation = Message(observation)
        self.observation = observation
        if observation.get('text') is not None:
            self.turns.append(observation['text'])
        guarded = Message(observation)
        _set(guarded, _OBSERVED, self._number)  # whose state batch_act (on the original) uses
        return guarded

    def _generator_observation(self, observation, action, rots):
        steer = action in (STEER, STEER_AND_HELP)
        if self.mode == 'prompt':
            message = Message(
                {
                    'text': lm_prompt(self.turns, rots if steer else None),
                    'episode_done': True,  # a whole prompt every turn; the LM keeps no history
                }
            )
            return message
        message = Message({k: v for k, v in observation.items() if k != _OBSERVED})
        if steer:
            delimiter = self.generator.opt.get('delimiter', '\n')
            if hasattr(self.generator, 'steer_observation'):  # its own way (COSMO: narrative)
                message = self.generator.steer_observation(message, rots)
            elif hasattr(self.generator, 'history'):  # TorchAgent: this turn only
                message['temp_history'] = delimiter + rots
            else:
                message.force_set('text', message['text'] + '\n' + rots)
        return message

    def batch_act(self, observations):
        replies = [Message({'id': self.getID(), 'episode_done': False}) for _ in observations]
        active = [
            i for i, obs in enumerate(observations)
            if obs is not None and obs.get('text') is not None and _OBSERVED in obs
        ]
        if not active:
            return replies
        copies = [self._copies[observations[i][_OBSERVED]] for i in active]
        seed = None
        if self.opt.get('guard_rots', 'sample') == 'sample':
            seed = self.opt.get('guard_rots_seed', 0)
        decisions = self.canary.classify_batch([context_text(c.turns) for c in copies], seed=seed)
        # what is done: no RoTs, no steering (nothing to steer with); help only when configured
        actions = [act(decide(label), rots, self.help_text) for label, rots in decisions]
        gen_observations = []
        for i, copy, (label, rots), action in zip(active, copies, decisions, actions):
            message = copy._generator_observation(observations[i], action, rots)
            gen_observations.append(copy.generator.observe(message))
            copy._generator_observed = True
        if hasattr(self.generator, 'batch_act'):
            gen_replies = self.generator.batch_act(gen_observations)
            for copy, reply in zip(copies, gen_replies):
                copy._generator_reply = reply  # the generator hears itself in self_observe
        else:
            gen_replies = [copy.generator.act() for copy in copies]
            for copy in copies:
                copy._generator_observed = False  # act() did all there is to do
        for i, copy, (label, rots), action, gen_reply in zip(
            active, copies, decisions, actions, gen_replies
        ):
            reply = Message(gen_reply or {})
            text = reply.get('text') or ''
            if self.mode == 'prompt':
                text = lm_reply(text)
            said = text
            if action in (STEER_AND_HELP, HELP):
                said = f'{text} {self.help_text}' if text else self.help_text
                _set(reply, 'help_text', self.help_text)
            _set(reply, 'text', said)
            _set(reply, 'id', self.getID())
            _set(reply, 'episode_done', False)
            _set(reply, 'safety_label', label)
            _set(reply, GUARD_ROTS_TEXT_FIELD, rots)
            _set(reply, 'guard_action', action)
            metrics = dict(reply.get('metrics') or {})
            metrics['guard_steered'] = AverageMetric(int(action in (STEER, STEER_AND_HELP)))
            metrics['guard_help'] = AverageMetric(int(action in (STEER_AND_HELP, HELP)))
            _set(reply, 'metrics', metrics)
            copy._reply_for_history = text
            replies[i] = reply
        return replies

    def act(self):
        if self._empty_input:
            return self.ask_again()
        reply = self.batch_act([self.observe_again()])[0]
        self.self_observe(reply)
        return reply

    def observe_again(self):
        if self.observation is None:
            return None
        message = Message(self.observation)
        _set(message, _OBSERVED, self._number)
        return message

    def self_observe(self, self_message):
        observation, self.observation = self.observation, None
        if self._generator_observed and hasattr(self.generator, 'self_observe'):
            self.generator.self_observe(self._generator_reply)
        self._generator_observed, self._generator_reply = False, None
        if observation is None:
            return
        if observation.get('episode_done', False):
            self.turns = []
            return
        if self.mode == 'prompt' and hasattr(self.generator, 'history'):
            self.generator.history.reset()  # prompt mode: a fresh prompt every turn
        label_key = next((k for k in ('labels', 'eval_labels') if observation.get(k)), None)
        if self.opt.get('use_reply', 'label') == 'label' and label_key is not None:
            reply = split_rot_response(observation[label_key][0])[1]
        else:
            reply = getattr(self, '_reply_for_history', None)
            if reply is None and self_message is not None:
                reply = self_message.get('text')
        if reply is not None and observation.get('text') is not None:
            self.turns.append(reply)
        self._reply_for_history = None
