"""
Topical-Chat teacher (Gopalakrishnan et al., 2019), for mixing into Prost's training data
(ProsocialDialog paper, App. B.2). ParlAI has no Topical-Chat task of its own.

    parlai display_data -t topical_chat --topical-chat-data-dir DIR -dt valid

One episode per conversation, ParlAI-style, as ParlAI's two-speaker teachers (ConvAI2,
EmpatheticDialogues) do it: the bot plays one speaker, the text is the other speaker's turn and the
label the bot's reply; ParlAI's history then holds the whole conversation so far.

``--topical-chat-speaker`` chooses whom the bot plays:

* ``agent_2`` (default): text = agent_1's turn, label = agent_2's reply. agent_1 always opens, so
  every turn but possibly the last is used; a conversation with an odd number of turns ends with
  an agent_1 turn that nobody answers, and that turn is left out (as EmpatheticDialogues does).
* ``agent_1``: text = agent_2's turn, label = agent_1's reply. agent_1's opening turn answers
  nothing, so it is not a label; it is put before agent_2's first turn in the first text (joined
  with a newline, like ParlAI's history), so the history still holds every turn and the bot is
  never trained to open a conversation from nothing. An unanswered final agent_2 turn is left out.
* ``both``: both episodes of each conversation, the agent_2 one first (every turn except the first
  becomes a label once; twice the episodes).

The option can also be given in the task name: ``-t topical_chat:topical_chat_speaker=both``.

Splits: train reads ``train.json``; valid reads ``valid_freq.json`` then ``valid_rare.json`` and
test ``test_freq.json`` then ``test_rare.json`` (frequent- and rare-topic sets; choose one with
``--topical-chat-eval-set freq|rare``, default ``both``; train ignores it).

Each message keeps the annotations: ``conversation_id``, ``article_url``, ``config``,
``conversation_rating`` (of the conversation); ``speaker`` (the label's agent) and ``turn_index``
(the label's index in ``content``); ``sentiment``, ``knowledge_source``, ``turn_rating`` of the
label turn; ``text_sentiment``, ``text_knowledge_source``, ``text_turn_rating`` of the text's (last)
turn. Messages are cleaned as :func:`~.data.clean_message` says (ends stripped, no newline inside).

All files of the split are read and checked when the teacher is created, so bad data fails before
training starts with a :class:`~.data.TopicalChatDataError` naming the file, conversation, turn
and field.
"""

import copy

from parlai.core.teachers import DialogTeacher

from parlai_prosocial.data_files import create_agents  # noqa: F401 (see there)
from parlai_prosocial.our_names import unknown_teachers
from parlai_prosocial.data_files import (
    add_data_arguments,
    check_splits,
    parsed_once_per_file,
)

from .build import data_dir, datafiles
from .data import EVAL_SETS, TopicalChatDataError, read_file, split_paths

SPEAKERS = ('agent_2', 'agent_1', 'both')

_TURN_ANNOTATIONS = ('sentiment', 'knowledge_source', 'turn_rating')


load_file = parsed_once_per_file(read_file)


def load_conversations(path):
    return load_file(path)[0]


def check_files(opt):
    eval_set = opt.get('topical_chat_eval_set') or 'both'
    check_splits(
        opt, 'topical_chat', lambda split: split_paths(data_dir(opt), split, eval_set),
        lambda path: load_file(path)[1], TopicalChatDataError,
    )


def speaker_episode(conversation, speaker):
    """
    The examples (text, label and fields) of ``conversation`` with the bot as ``speaker``
    (agent_1 or agent_2); empty when that speaker never answers.
    """
    turns = conversation['turns']
    # turns alternate agent_1, agent_2, ... (checked by the reader): agent_2 speaks at odd
    # indexes; agent_1 at even ones, and its opening turn (index 0) answers nothing
    first_label = 1 if speaker == 'agent_2' else 2
    episode = []
    for index in range(first_label, len(turns), 2):
        label_turn, text_turn = turns[index], turns[index - 1]
        text = text_turn['message']
        if index == 2 and speaker == 'agent_1':
            text = turns[0]['message'] + '\n' + text
        message = {
            'text': text,
            'labels': [label_turn['message']],
            'conversation_id': conversation['conversation_id'],
            'article_url': conversation['article_url'],
            'config': conversation['config'],
            'conversation_rating': conversation['conversation_rating'],
            'speaker': speaker,
            'turn_index': index,
        }
        for field in _TURN_ANNOTATIONS:
            message[field] = label_turn[field]
            message['text_' + field] = text_turn[field]
        episode.append(message)
    return episode


def conversation_episodes(conversation, speaker='agent_2'):
    """
    The episodes of ``conversation`` for ``speaker`` (agent_2, agent_1 or both), none empty.
    """
    if speaker not in SPEAKERS:
        raise ValueError(f'unknown speaker {speaker!r}: use one of {", ".join(SPEAKERS)}')
    speakers = ('agent_2', 'agent_1') if speaker == 'both' else (speaker,)
    episodes = (speaker_episode(conversation, s) for s in speakers)
    return [episode for episode in episodes if episode]


class TopicalChatTeacher(DialogTeacher):
    """
    Topical-Chat reply generation; one episode per conversation (two with ``both`` speakers).
    """

    @classmethod
    def add_cmdline_args(cls, parser, partial_opt=None):
        super().add_cmdline_args(parser, partial_opt)
        group = parser.add_argument_group('Topical-Chat')
        add_data_arguments(
            group, 'topical_chat', 'the release files (train.json, {valid,test}_{freq,rare}.json)'
        )
        group.add_argument(
            '--topical-chat-speaker',
            choices=SPEAKERS,
            default='agent_2',
            help='the speaker the bot plays: agent_2 (text = agent_1\'s turn, label = agent_2\'s '
            'reply), agent_1 (the reverse; agent_1\'s opening turn goes into the first text) or '
            'both (both episodes of every conversation)',
        )
        group.add_argument(
            '--topical-chat-eval-set',
            choices=EVAL_SETS,
            default='both',
            help='valid/test: the frequent-topic file (freq), the rare-topic file (rare) or both, '
            'freq first; train ignores it',
        )
        return parser

    def __init__(self, opt, shared=None):
        opt = copy.deepcopy(opt)
        opt['datafile'] = self._datafiles = datafiles(opt)
        self.id = 'topical_chat'
        self.speaker = opt.get('topical_chat_speaker') or 'agent_2'
        if self.speaker not in SPEAKERS:
            raise ValueError(
                f'--topical-chat-speaker {self.speaker!r}: use one of {", ".join(SPEAKERS)}'
            )
        self._counts = None
        if shared is None:
            # read and check every file now, so bad data fails before training starts
            check_files(opt)
            self._count()
        super().__init__(opt, shared)

    def _episodes(self, paths):
        for path in paths:
            for conversation in load_conversations(path):
                yield from conversation_episodes(conversation, self.speaker)

    def setup_data(self, paths):
        for episode in self._episodes(paths):
            for index, message in enumerate(episode):
                yield message, index == 0

    def _count(self):
        # also keeps DialogTeacher's stream mode from writing a .lengths file into the data dir
        if self._counts is None:
            episodes = list(self._episodes(self._datafiles))
            self._counts = (len(episodes), sum(len(e) for e in episodes))
        return self._counts

    def num_episodes(self):
        return self._count()[0]

    def num_examples(self):
        return self._count()[1]


class DefaultTeacher(TopicalChatTeacher):
    pass


# -t topical_chat:NOSUCH is one line listing the teachers (ParlAI's loader asks this module)
__getattr__ = unknown_teachers(__name__)
