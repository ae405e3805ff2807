"""
Reading Topical-Chat conversation files (Gopalakrishnan et al., 2019) into validated conversations.

The release (github.com/alexa/Topical-Chat, ``conversations/``) has five files, each one JSON
object keyed by conversation id::

    {"t_<uuid>": {"article_url": str, "config": "A".."D",
                  "content": [{"message": str, "agent": "agent_1" | "agent_2",
                               "sentiment": str, "knowledge_source": [str, ...],
                               "turn_rating": str}, ...],
                  "conversation_rating": {"agent_1": str, "agent_2": str}}, ...}

A conversation becomes a dict with ``conversation_id``, ``article_url``, ``config``,
``conversation_rating`` (None when a file has none; the fields the teacher relies on are required)
and ``turns``, the turns in file order with the same field names.

What is checked, and what is left as it is:

* structure and types: every field named above (``conversation_rating`` only if present) must be
  there with the right type, else :class:`TopicalChatDataError` names the file, the conversation id,
  the turn and the field. Nothing is skipped or repaired.
* turn order: the turns must alternate ``agent_1``, ``agent_2``, ``agent_1``, ... starting with
  ``agent_1``; all 2,156 conversations of the released valid and test files do, and the teacher's
  text/label pairing relies on it.
* values: any string is accepted for ``sentiment``, ``turn_rating`` (the release has ``""`` for
  unrated turns), ``config`` and ``message``.
* messages: 6,832 of the 46,903 messages of the released valid/test files end in spaces or a
  newline, and a few hold a newline or a tab inside (``"... a \\n playing card company"``);
  ParlAI joins the dialogue history with newlines, so an inner newline would read as a turn
  boundary. :func:`clean_message` strips the ends and turns every whitespace run holding a
  newline, carriage return or tab into one space; other spaces (the double spaces after full
  stops) are kept.
"""

import os
import re
from typing import Annotated, List, Literal

from msgspec import Meta

from parlai_prosocial import errors
from parlai_prosocial.data_files import (
    Anomalies,
    DuplicateKeysDict,
    check_object,
    checked_fields,
    load_json_file,
)

AGENTS = ('agent_1', 'agent_2')

#: split -> eval set -> file names, in reading order (the ``both`` set reads freq, then rare)
SPLIT_FILES = {
    'train': {'both': ('train.json',), 'freq': ('train.json',), 'rare': ('train.json',)},
    'valid': {
        'both': ('valid_freq.json', 'valid_rare.json'),
        'freq': ('valid_freq.json',),
        'rare': ('valid_rare.json',),
    },
    'test': {
        'both': ('test_freq.json', 'test_rare.json'),
        'freq': ('test_freq.json',),
        'rare': ('test_rare.json',),
    },
}

ALL_FILES = ('train.json', 'valid_freq.json', 'valid_rare.json', 'test_freq.json', 'test_rare.json')

EVAL_SETS = ('both', 'freq', 'rare')


class TopicalChatDataError(errors.ProsocialDataError):
    """
    A Topical-Chat file that cannot be read as it is.
    """


# field -> (type, what an error says it expected), as data_files.checked_fields takes them
_STRING = (str, 'a string')
_CONVERSATION_FIELDS = {
    'article_url': _STRING,
    'config': _STRING,
    'content': (Annotated[list, Meta(min_length=1)], 'a non-empty list of turns'),
}
_TURN_FIELDS = {
    'message': _STRING,
    'agent': (Literal[AGENTS], '"agent_1" or "agent_2"'),
    'sentiment': _STRING,
    'knowledge_source': (List[str], 'a list of strings'),
    'turn_rating': _STRING,
}

_BREAKING_WHITESPACE = re.compile(r'\s*[\n\r\t]\s*')


def clean_message(message):
    """
    ``message`` without surrounding whitespace and with no newline, carriage return or tab inside.
    """
    return _BREAKING_WHITESPACE.sub(' ', message.strip())


def _short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + '...'


def _conversation(conversation_id, raw, path):
    where = f'{path}: conversation {conversation_id}'
    checked_fields(raw, _CONVERSATION_FIELDS, where, TopicalChatDataError, shown=_short)
    rating = raw.get('conversation_rating')
    if rating is not None and not isinstance(rating, dict):
        raise TopicalChatDataError(
            f'{where}: field "conversation_rating" is {_short(rating)}, expected a JSON object'
        )
    if rating is not None:
        check_object(rating, f'{where}: field "conversation_rating"', TopicalChatDataError)
    turns = []
    for index, turn in enumerate(raw['content']):
        turn_where = f'{where}, turn {index}'
        checked_fields(turn, _TURN_FIELDS, turn_where, TopicalChatDataError, shown=_short)
        expected_agent = AGENTS[index % 2]
        if turn['agent'] != expected_agent:
            raise TopicalChatDataError(
                f'{turn_where}: field "agent" is {turn["agent"]!r}, expected {expected_agent!r} '
                '(turns must alternate, starting with agent_1)'
            )
        turns.append(
            {
                'message': clean_message(turn['message']),
                'agent': turn['agent'],
                'sentiment': turn['sentiment'],
                'knowledge_source': list(turn['knowledge_source']),
                'turn_rating': turn['turn_rating'],
            }
        )
    return {
        'conversation_id': conversation_id,
        'article_url': raw['article_url'],
        'config': raw['config'],
        'conversation_rating': dict(rating) if rating is not None else None,
        'turns': turns,
    }


def read_conversations(path):
    """
    All conversations of one Topical-Chat file, in file order.
    """
    return read_file(path)[0]


def read_file(path):
    """
    (conversations, anomalies) of one Topical-Chat file: the conversations in file order, and the
    :class:`~parlai_prosocial.data_files.Anomalies` (empty messages) found in them.
    """
    if not os.path.isfile(path):
        raise TopicalChatDataError(f'{path}: no such file')
    with open(path, 'rb') as f:
        head = f.read(64)
        empty = not (head + f.read()).strip()
    if empty:
        raise TopicalChatDataError(f'{path}: the file is empty')
    if head.startswith(b'version https://git-lfs.github.com/spec/'):
        raise TopicalChatDataError(
            f'{path}: this is a Git LFS pointer, not the data; fetch the file itself '
            '(git lfs pull, or the raw download URL)'
        )
    data = load_json_file(path, TopicalChatDataError)
    if not isinstance(data, dict):
        raise TopicalChatDataError(
            f'{path}: expected a JSON object keyed by conversation id, got {type(data).__name__}'
        )
    if isinstance(data, DuplicateKeysDict):
        raise TopicalChatDataError(
            f'{path}: conversation {data.duplicate} appears twice (the file\'s object repeats '
            'the id); expected each conversation id once'
        )
    if not data:
        raise TopicalChatDataError(f'{path}: no conversations in the file; expected at least one')
    conversations = [_conversation(cid, raw, path) for cid, raw in data.items()]
    anomalies = Anomalies()
    for conversation in conversations:
        for index, turn in enumerate(conversation['turns']):
            if not turn['message']:
                anomalies.add(
                    'empty message',
                    f'{path}: conversation {conversation["conversation_id"]}, turn {index}',
                )
    return conversations, anomalies


def split_files(split, eval_set='both'):
    """
    The file names of ``split`` (train / valid / test); ``eval_set`` (both / freq / rare) chooses
    the frequent-topic file, the rare-topic one or both for valid and test and is ignored for train.
    """
    if split not in SPLIT_FILES:
        raise ValueError(f'unknown split {split!r}: use one of {", ".join(SPLIT_FILES)}')
    if eval_set not in EVAL_SETS:
        raise ValueError(f'unknown eval set {eval_set!r}: use one of {", ".join(EVAL_SETS)}')
    return SPLIT_FILES[split][eval_set]


def split_paths(data_dir, split, eval_set='both'):
    return tuple(os.path.join(data_dir, name) for name in split_files(split, eval_set))
