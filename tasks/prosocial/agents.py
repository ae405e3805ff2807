"""
ProsocialDialog teachers (Kim et al., 2022), in every format the paper trains on.

* ``prosocial`` / ``prosocial:response``: the problematic speaker's turn -> the prosocial reply,
  multi-turn episodes (Prost "Response only").
* ``prosocial:rot_response``: -> RoTs ``__endrots__`` reply (Prost "RoT & Response"); a casual
  turn's target is the reply alone (§4.2), unless ``--casual-rots keep``.
* ``prosocial:safety``: -> Canary's target, ``__casual__`` or the label token and the RoTs.
* ``prosocial:safety_classification``: -> the safety label, with ``label_candidates``; five
  released levels, or ``--safety-schema three`` for the paper's three-way schema.

Dialogue-reply teachers give one episode per dialogue, with ParlAI's usual history. The two safety
teachers predict a label, not a reply, so ParlAI's history would insert the previous *label* as if
it were the bot's turn; they give one example per turn whose text is the whole dialogue so far
(earlier turns and their prosocial replies, newline-separated as ParlAI's history does).

Every message keeps the annotations: ``rots``, ``safety_label``, ``safety_annotations`` (the
three votes), ``safety_annotation_reasons`` (the rationales), ``source``, ``etc``, ``response``,
``dialogue_id`` and ``response_id``.
"""

import copy
import random

from parlai.core.message import Message
from parlai.core.teachers import DialogTeacher, FixedDialogTeacher

from parlai_prosocial.formats import (
    BAD_CLASSES,
    CASUAL_ROTS,
    OK_NOTOK,
    PROSOCIAL_MARKERS,
    SAFETY_LABELS,
    THREE_WAY_LABELS,
    THREE_WAY_SAFETY,
    escape_markers,
    grounding_rots,
    rot_response_target,
    safety_target,
)
from parlai_prosocial.parlai_internals import check_relied_on
from parlai_prosocial.prosocial_rows import READ_FIELDS
from parlai_prosocial.data_files import create_agents  # noqa: F401 (see there)
from parlai_prosocial.our_names import unknown_teachers
from parlai_prosocial.data_files import (
    add_data_arguments,
    check_splits,
    parsed_once_per_file,
)

from parlai_prosocial.tasks.soda.cosmo_format import add_cosmo_format_args, drop_rates

from .build import data_dir, datafile
from .cosmo import NAMES, cosmo_examples, drop_parts, read_names
from .data import (
    ProsocialDataError,
    read_file,
    split_path,
)

#: what every message keeps of its turn (the text is the context)
_ANNOTATION_FIELDS = tuple(field for field in READ_FIELDS if field != 'context')

load_file = parsed_once_per_file(read_file)


def load_dialogues(path):
    """
    The dialogues of ``path``, parsed once per file and process.
    """
    return load_file(path)[0]


def check_files(opt):
    check_splits(
        opt, 'prosocial', lambda split: [split_path(data_dir(opt), split)],
        lambda path: load_file(path)[1], ProsocialDataError,
    )


def escaped(text):
    """
    ``text`` as it may appear in a target: our markers in it escaped (``__endrots__`` ->
    ``_endrots_``, ``__casual__`` -> ``_casual_``), so a target holds them only where its format
    puts them.
    """
    return escape_markers(text, PROSOCIAL_MARKERS)


def target_rots(rots):
    """
    The RoTs as they go into a target: escaped, and without empty ones (an empty RoT, counted as
    an anomaly, would make a target start with ``__endrots__``); the ``rots`` field keeps them.
    """
    return [escaped(rot) for rot in rots if rot.strip()]


class ResponseTeacher(FixedDialogTeacher):
    """
    Prosocial reply generation; one episode per dialogue.

    The teachers serve the parsed dialogues as they are and build each message when it is asked
    for (``get``), instead of copying every message into ParlAI's ``DialogData`` first: at the
    full training set's size that copy cost more than reading the file (benchmarks/prosocial_load).
    Each message is what ``DialogTeacher`` would give for the same ``(message, new_episode)``
    stream; evaluation under ``multiprocessing_eval`` is split between the workers as
    ``DialogData`` splits it (episode i to worker i mod n).
    """

    #: False: every turn is its own episode with the dialogue so far as its text.
    multi_turn_episodes = True

    @classmethod
    def add_cmdline_args(cls, parser, partial_opt=None):
        super().add_cmdline_args(parser, partial_opt)
        group = parser.add_argument_group('ProsocialDialog')
        add_data_arguments(
            group,
            'prosocial',
            '{train,valid,test}.json (HF JSON Lines or the direct download layout)',
        )
        return parser

    def __init__(self, opt, shared=None):
        opt = copy.deepcopy(opt)
        opt['datafile'] = datafile(opt)
        self.id = 'prosocial'
        if shared is None:
            # read and check the whole file now (and the other splits the command will use), so
            # bad data fails before training starts
            check_files(opt)
            check_relied_on('parlai.core.teachers:DialogData.get')  # the messages get() builds
            self.episodes = this_workers_share(
                opt['datatype'], self.episodes_of(load_dialogues(opt['datafile']))
            )
            self._num_examples = self.count_examples(self.episodes)
        else:
            self.episodes, self._num_examples = shared['episodes'], shared['num_examples']
        super().__init__(opt, shared)
        self.reset()

    def share(self):
        shared = super().share()
        shared['episodes'], shared['num_examples'] = self.episodes, self._num_examples
        return shared

    def episodes_of(self, dialogues):
        """
        The episodes: a dialogue's turns (multi-turn episodes), or ``(dialogue, turn index)``.
        """
        if self.multi_turn_episodes:
            return dialogues
        return [(dialogue, t) for dialogue in dialogues for t in range(len(dialogue))]

    def count_examples(self, episodes):
        if self.multi_turn_episodes:
            return sum(map(len, episodes))
        return len(episodes)

    def num_episodes(self):
        return len(self.episodes)

    def num_examples(self):
        return self._num_examples

    def get(self, episode_idx, entry_idx=0):
        if self.multi_turn_episodes:
            dialogue = self.episodes[episode_idx]
            turn = dialogue[entry_idx]
            text, done = turn['context'], entry_idx == len(dialogue) - 1
        else:
            dialogue, t = self.episodes[episode_idx]
            turn = dialogue[t]
            text, done = dialogue_so_far(dialogue, t), True
        # a turn holds exactly the annotation fields and its context (both readers build it so);
        # dict.update fills the Message at C speed (Message's own __setitem__ is Python code)
        message = Message(turn)
        del message['context']
        message.update(self.extra_fields(turn))
        message.update(text=text, labels=[self.target(turn)], episode_done=done)
        return message

    def target(self, turn):
        return escaped(turn['response'])

    def extra_fields(self, turn):
        return {}


def dialogue_so_far(dialogue, t):
    """
    The text of turn t as one example: the earlier turns and their prosocial replies, then its
    context, newline-separated as ParlAI's history joins them.
    """
    lines = []
    for turn in dialogue[:t]:
        lines += [turn['context'], turn['response']]
    lines.append(dialogue[t]['context'])
    return '\n'.join(lines)


def this_workers_share(datatype, episodes):
    """
    Under distributed evaluation, the episodes of this worker (episode i to worker i mod n), as
    ParlAI's ``DialogData`` splits them; else all.
    """
    from parlai.utils.distributed import get_rank, is_distributed, num_workers

    check_relied_on(
        'parlai.core.teachers:DialogData.__init__', 'parlai.core.teachers:DialogData._load'
    )
    evaluating = any(kind in datatype for kind in ('valid', 'test', 'train:evalmode'))
    if is_distributed() and evaluating:
        return episodes[get_rank() :: num_workers()]
    return episodes


class RotResponseTeacher(ResponseTeacher):
    """
    Prost "RoT & Response": the RoTs, ``__endrots__``, then the reply.

    Evaluation scores the reply, as the paper's Table 3 does: ParlAI's text metrics (f1, bleu-k,
    accuracy, rouge, ...) compare the model's reply with the gold reply (the label after
    ``__endrots__``). The model's reply is its ``text``, split at its (last) ``__endrots__`` when
    it holds one (a plain ``transformer/generator``; its message is left as it is), or as given
    when the model put its RoTs in ``rots_text`` (``-m prost``). The RoTs are scored apart:
    ``rot_f1`` and a ``rot_bleu-k`` for each ``bleu-k`` in ``--metrics``, against the gold RoTs,
    on every turn where the gold or the model has RoTs (a missing side scores 0), and
    ``rots_generated``, the share of turns where the model wrote RoTs. Perplexity is the
    model's, over the whole label.

    A turn labelled ``__casual__`` trains on the reply alone (§4.2: RoTs "for contexts against
    social norms; otherwise ... responses without RoTs"), even when the data gives it RoTs;
    ``--casual-rots keep`` keeps them. Its gold RoTs for ``rot_f1`` are then none too.
    """

    @classmethod
    def add_cmdline_args(cls, parser, partial_opt=None):
        super().add_cmdline_args(parser, partial_opt)
        parser.add_argument(
            '--casual-rots',
            choices=list(CASUAL_ROTS),
            default='drop',
            help='the RoTs of a turn labelled __casual__: drop them (the reply alone, as §4.2 '
            'trains Prost) or keep them in the target like any other turn\'s',
        )
        return parser

    def target(self, turn):
        rots = grounding_rots(
            turn['rots'], turn['safety_label'], self.opt.get('casual_rots') or 'drop'
        )
        return rot_response_target(target_rots(rots), escaped(turn['response']))

    def observe(self, observation):
        from parlai.core.message import Message

        from parlai_prosocial.formats import ROTS_END, ROTS_TEXT_FIELD, split_rot_response

        labels = getattr(self, 'lastY', None)
        if observation is None or labels is None:
            return super().observe(observation)
        gold = [split_rot_response(label) for label in labels]
        self.lastY = [reply for _, reply in gold]
        scored = observation
        text = observation.get('text')
        if text is None:
            model_rots = None  # nothing generated (training, --skip-generation)
        elif ROTS_TEXT_FIELD in observation:
            model_rots = observation[ROTS_TEXT_FIELD] or ''
        elif ROTS_END in text:
            model_rots, reply = split_rot_response(text)
            scored = Message(observation)
            scored.force_set('text', reply)
        else:
            model_rots = ''
        self._rot_evaluation = ([rots for rots, _ in gold], model_rots)
        scored = super().observe(scored)
        if scored is not observation and 'metrics' in scored:
            observation.pop('metrics', None)
            observation['metrics'] = scored['metrics']
        return observation

    def custom_evaluation(self, teacher_action, labels, model_response):
        from parlai.core.metrics import AverageMetric, BleuMetric, F1Metric

        super().custom_evaluation(teacher_action, labels, model_response)
        pending, self._rot_evaluation = getattr(self, '_rot_evaluation', None), None
        if pending is None or pending[1] is None:
            return
        gold_rots, model_rots = pending
        self.metrics.add('rots_generated', AverageMetric(int(bool(model_rots))))
        gold_rots = [rots for rots in gold_rots if rots]
        if not gold_rots and not model_rots:
            return
        gold_rots = gold_rots or ['']
        self.metrics.add('rot_f1', F1Metric.compute(model_rots, gold_rots))
        check_relied_on('parlai.core.metrics:Metrics.__init__')  # defines _metrics_list
        wanted = getattr(self.metrics, '_metrics_list', set())
        for k in range(1, 5):
            if f'bleu-{k}' in wanted:
                self.metrics.add(f'rot_bleu-{k}', BleuMetric.compute(model_rots, gold_rots, k))


class _SafetyTeacher(ResponseTeacher):
    multi_turn_episodes = False

    @classmethod
    def add_cmdline_args(cls, parser, partial_opt=None):
        super().add_cmdline_args(parser, partial_opt)
        parser.add_argument(
            '--safety-schema',
            choices=['five', 'three'],
            default='five',
            help='five: the released labels; three: casual / needs caution / needs '
            'intervention (paper §2.3; the three caution levels become __needs_caution__)',
        )
        return parser

    def safety_label(self, turn):
        if self.opt.get('safety_schema', 'five') == 'three':
            return THREE_WAY_SAFETY[turn['safety_label']]
        return turn['safety_label']


class SafetyTeacher(_SafetyTeacher):
    """
    Canary: the safety label token, then the RoTs joined by commas (none for casual).
    """

    def target(self, turn):
        return safety_target(self.safety_label(turn), target_rots(turn['rots']))


class SafetyClassificationTeacher(_SafetyTeacher):
    """
    The safety label alone, with the label set as ``label_candidates``.
    """

    def target(self, turn):
        return self.safety_label(turn)

    def extra_fields(self, turn):
        if self.opt.get('safety_schema', 'five') == 'three':
            return {'label_candidates': list(THREE_WAY_LABELS)}
        return {'label_candidates': list(SAFETY_LABELS)}


class OkNotokSafetyTeacher(SafetyClassificationTeacher):
    """
    ``prosocial:safety_classification`` with each label mapped to the BAD classifier's ``__ok__``
    / ``__notok__`` (``formats.OK_NOTOK``): Table 2's zero-shot evaluation of that classifier.
    """

    def target(self, turn):
        return OK_NOTOK[turn['safety_label']]

    def extra_fields(self, turn):
        return {'label_candidates': list(BAD_CLASSES)}


class RotsTeacher(_SafetyTeacher):
    """
    RoT generation alone (Table 2's RoT columns for the baselines that generate RoTs only, App.
    C.2): the turns that have RoTs, each its own episode with the dialogue so far as its text, and
    the RoTs joined by commas as the label (Canary's target without the label token, so ``f1``,
    ``bleu-4`` and ``ppl`` here are Canary's ``rot_f1``, ``rot_bleu-4`` and ``rot_ppl``).
    """

    def target(self, turn):
        return ', '.join(target_rots(turn['rots']))

    def episodes_of(self, dialogues):
        return [(d, t) for d, t in super().episodes_of(dialogues) if target_rots(d[t]['rots'])]


class DefaultTeacher(ResponseTeacher):
    pass


class CosmoTeacher(DialogTeacher):
    """
    ProsocialDialog's prosocial replies as COSMO examples, one per episode.
    """

    @classmethod
    def add_cmdline_args(cls, parser, partial_opt=None):
        ResponseTeacher.add_cmdline_args(parser, partial_opt)  # --prosocial-data-dir and ParlAI's
        group = parser.add_argument_group('ProsocialDialog as COSMO input')
        group.add_argument(
            '--cosmo-names-file',
            type=str,
            default=None,
            help='names to draw the two speakers from, one a line (the paper: the top-1K US SSN '
            'names 1990-2021); default: a bundled list of common US given names',
        )
        group.add_argument(
            '--cosmo-names-seed', type=int, default=0, help='seed of the names and RoT draws'
        )
        add_cosmo_format_args(parser)
        return parser

    def __init__(self, opt, shared=None):
        opt = copy.deepcopy(opt)
        opt['datafile'] = datafile(opt)
        self.id = 'prosocial:cosmo'
        self.split = opt['datatype'].split(':')[0]
        self.names = read_names(opt['cosmo_names_file']) if opt.get('cosmo_names_file') else NAMES
        self.names_seed = opt.get('cosmo_names_seed') or 0
        self.drop_narrative, self.drop_instruction = drop_rates(opt)
        self.drop_seed = opt.get('cosmo_drop_seed') or 0
        self._handed_out = shared['cosmo_handed_out'] if shared else {}
        if shared is None:
            # read and check the whole file now (and the splits train_model will use)
            check_files(opt)
        super().__init__(opt, shared)

    def share(self):
        shared = super().share()
        shared['cosmo_handed_out'] = self._handed_out
        return shared

    def setup_data(self, path):
        for dialogue in load_dialogues(path):
            examples = cosmo_examples(dialogue, self.names, self.names_seed, self.split)
            for turn, example in zip(dialogue, examples):
                example.update({field: turn[field] for field in _ANNOTATION_FIELDS})
                yield example, True

    def num_examples(self):
        return sum(len(d) for d in load_dialogues(self.opt['datafile']))

    def num_episodes(self):
        return self.num_examples()

    def next_example(self):
        # DialogTeacher's stream mode calls next_example again from inside itself: drop once
        if getattr(self, '_in_next_example', False):
            return super().next_example()
        self._in_next_example = True
        try:
            action, epoch_done = super().next_example()
        finally:
            self._in_next_example = False
        if (self.drop_narrative or self.drop_instruction) and 'text' in action:
            key = (action['dialogue_id'], action['response_id'])
            handed_out = self._handed_out.get(key, 0)
            self._handed_out[key] = handed_out + 1
            rng = random.Random(f'{self.drop_seed}|{self.split}|{key[0]}|{key[1]}|{handed_out}')
            drop_narrative = rng.random() < self.drop_narrative
            drop_instruction = rng.random() < self.drop_instruction
            if drop_narrative or drop_instruction:
                action = Message(action).copy()
                action.force_set(
                    'text',
                    drop_parts(
                        action['text'],
                        action['situation'],
                        action['instruction'],
                        drop_narrative,
                        drop_instruction,
                    ),
                )
        return action, epoch_done


# -t prosocial:NOSUCH is one line listing the teachers (ParlAI's loader asks this module)
__getattr__ = unknown_teachers(__name__)
