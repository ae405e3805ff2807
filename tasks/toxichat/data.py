"""
Reading ToxiChat (Baheti et al., 2021) files into validated threads.

The release (``abaheti95/ToxiChat``, ``data/ToxiChat/{train,dev,test}.jsonl``) has one JSON object
per line:

* ``reddit_thread``: the Reddit turns, in order; turn *k* (``turn_id`` k, from 1) has ``text``,
  ``offense_label`` (``Safe`` | ``Offensive``), ``offense_targets`` (a list of strings) and, for
  every earlier turn *j*, ``stance_label_towards_turn_j`` (``Agree`` | ``Disagree`` | ``Neutral``);
* ``final_dgpt_response`` / ``final_gpt3_response``: a chatbot's reply to the whole thread, with
  ``turn_id`` = number of Reddit turns + 1, the same fields (a stance towards every Reddit turn),
  ``coherence`` (``Plausible`` | ``Not Plausible``) and ``chatbot_model`` (``dgpt`` | ``gpt3``).

The ``OC_S_post_thread/*.csv`` files of the same release flatten the same conversations (one
utterance a row, numeric labels, plus subreddit rows); nothing here needs them, so they are not
read.

Every problem is a :class:`ToxiChatDataError` naming file, line, turn and field; nothing is skipped
or repaired. Texts are kept byte for byte in the thread dicts; :func:`utterance_text` is the one
place where a text is cleaned for a model's input.
"""

import os
import re

from parlai_prosocial import errors
from parlai_prosocial.data_files import Anomalies, json_lines
from parlai_prosocial.formats import OFFENSE_LABELS, STANCE_LABELS  # noqa: F401 (their owner)

COHERENCE_LABELS = ('Plausible', 'Not Plausible')

#: message field -> (the release's field, its ``chatbot_model``)
RESPONSE_FIELDS = {
    'final_dgpt_response': 'dgpt',
    'final_gpt3_response': 'gpt3',
}

#: ParlAI datatype -> file of the release
SPLIT_FILES = {'train': 'train.jsonl', 'valid': 'dev.jsonl', 'test': 'test.jsonl'}

_STANCE_FIELD = re.compile(r'^stance_label_towards_turn_(\d+)$')


class ToxiChatDataError(errors.ProsocialDataError):
    """
    A ToxiChat file (or the bad-word list) that cannot be read as it is.
    """


def stance_field(turn_id):
    return f'stance_label_towards_turn_{turn_id}'


def utterance_text(text):
    """
    A ToxiChat text as a model sees it: the ends stripped (the release pads texts with spaces) and
    each line break, with the spaces around it, turned into one space. Posts are written
    ``"Title: <title> \\n <body>"``; without this, a newline-separated history would show the title
    and the body as two turns. Nothing else is changed (e.g. ``&amp;`` stays as released).
    """
    return re.sub(r'[ \t]*[\r\n]+[ \t]*', ' ', text.strip())


def _is_str_list(value):
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check(where, turn, field, is_valid, wanted):
    if field not in turn:
        raise ToxiChatDataError(f'{where}: missing field "{field}"')
    if not is_valid(turn[field]):
        raise ToxiChatDataError(f'{where}: field "{field}" is {turn[field]!r}, expected {wanted}')


def _check_turn(where, turn, turn_id, towards, extra=()):
    """
    Check one turn (a Reddit turn or a chatbot reply) that should have ``turn_id`` and a stance
    towards the turns ``1..towards``.
    """
    if not isinstance(turn, dict):
        raise ToxiChatDataError(f'{where}: expected a JSON object, got {type(turn).__name__}')
    _check(where, turn, 'turn_id', lambda v: v == turn_id and not isinstance(v, bool), turn_id)
    _check(where, turn, 'text', lambda v: isinstance(v, str), 'a string')
    labels = ' or '.join(OFFENSE_LABELS)
    _check(where, turn, 'offense_label', lambda v: v in OFFENSE_LABELS, labels)
    _check(where, turn, 'offense_targets', _is_str_list, 'a list of strings')
    stances = ', '.join(STANCE_LABELS)
    for j in range(1, towards + 1):
        _check(where, turn, stance_field(j), lambda v: v in STANCE_LABELS, f'one of {stances}')
    for field in turn:
        match = _STANCE_FIELD.match(field)
        if match and not 1 <= int(match.group(1)) <= towards:
            raise ToxiChatDataError(
                f'{where}: field "{field}": a stance towards turn {match.group(1)}, but this turn '
                f'can only have one towards turns 1..{towards}'
            )
    for field, is_valid, wanted in extra:
        _check(where, turn, field, is_valid, wanted)


def check_thread(row, where):
    """
    Raise :class:`ToxiChatDataError` unless ``row`` is one thread of the release's schema.
    """
    if not isinstance(row, dict):
        raise ToxiChatDataError(f'{where}: expected a JSON object, got {type(row).__name__}')
    _check(
        where,
        row,
        'reddit_thread',
        lambda v: isinstance(v, list) and len(v) > 0,
        'a non-empty list of turns',
    )
    thread = row['reddit_thread']
    for k, turn in enumerate(thread, start=1):
        _check_turn(f'{where}: reddit_thread turn {k}', turn, k, k - 1)
    for field, model in RESPONSE_FIELDS.items():
        _check(where, row, field, lambda v: isinstance(v, dict), 'a JSON object')
        extra = (
            ('coherence', lambda v: v in COHERENCE_LABELS, ' or '.join(COHERENCE_LABELS)),
            ('chatbot_model', lambda v, m=model: v == m, repr(model)),
        )
        _check_turn(f'{where}: {field}', row[field], len(thread) + 1, len(thread), extra)
    return row


def read_threads(path):
    """
    All threads of one ToxiChat JSON Lines file, in file order. Each is the file's object plus
    ``thread_index`` (its 0-based row among the file's threads) and ``line`` (its line number).
    """
    return read_file(path)[0]


def read_file(path):
    """
    (threads, anomalies) of one ToxiChat file: the threads as :func:`read_threads` gives them, and
    the :class:`~parlai_prosocial.data_files.Anomalies` (empty texts) found in them. A thread whose Reddit turns
    repeat an earlier thread's, text for text, is an error.
    """
    if not os.path.isfile(path):
        raise ToxiChatDataError(f'{path}: no such file')
    threads = []
    first_line_of = {}
    anomalies = Anomalies()
    for line_number, row in json_lines(path, ToxiChatDataError):
        where = f'{path}: line {line_number}'
        check_thread(row, where)
        key = tuple(turn['text'] for turn in row['reddit_thread'])
        if key in first_line_of:
            raise ToxiChatDataError(
                f'{where}: field "reddit_thread" repeats the thread of line {first_line_of[key]} '
                'turn for turn: expected each thread once'
            )
        first_line_of[key] = line_number
        for source, turn in labelled_utterances(row):
            if not turn['text'].strip():
                anomalies.add('empty text', f'{where}: turn {turn["turn_id"]} ({source})')
        threads.append(dict(row, thread_index=len(threads), line=line_number))
    if not threads:
        raise ToxiChatDataError(f'{path}: the file is empty')
    return threads, anomalies


def split_path(data_dir, split):
    """
    The file of ``split`` (train / valid / test) in ``data_dir``.
    """
    return os.path.join(data_dir, SPLIT_FILES[split])


def thread_text(thread):
    """
    The model's input for a thread: its Reddit turns, each cleaned by :func:`utterance_text`, one
    per line (as ParlAI's history joins turns).
    """
    return '\n'.join(utterance_text(turn['text']) for turn in thread['reddit_thread'])


def stance_text(towards, reply):
    """
    The stance classifiers' input: the turn replied to, a newline, then the reply (upstream's pair
    classifiers read ``towards [SEP] reply``). Used both to train (``toxichat:stance``) and to score
    a model's reply towards the thread's last turn (the Table-5 metrics), so the two always agree.
    """
    return f'{utterance_text(towards)}\n{utterance_text(reply)}'


#: thread mode: between two turns, as Baheti et al.'s threads are written (``u1 EOS u2 EOS ...``;
#: their DialoGPT classifiers read the tokenizer's end-of-text token there)
THREAD_SEPARATOR = ' EOS '


def thread_input(turns):
    """
    The classifiers' input in thread mode: the texts ``turns`` (the thread up to and including the
    utterance classified, in order), each cleaned by :func:`utterance_text`, joined by
    :data:`THREAD_SEPARATOR`. The prediction is for the last of them.
    """
    return THREAD_SEPARATOR.join(utterance_text(text) for text in turns)


def stance_input(mode, before, reply):
    """
    The stance classifiers' input for ``reply`` towards the last of ``before`` (the texts of the
    thread's earlier turns, in order): ``pair`` -> :func:`stance_text` (that turn and the reply),
    ``thread`` -> :func:`thread_input` (every earlier turn, then the reply).
    """
    if mode == 'thread':
        return thread_input(list(before) + [reply])
    return stance_text(before[-1], reply)


def offensive_input(mode, before, utterance):
    """
    The offensive classifiers' input for ``utterance``: ``pair`` -> the utterance alone (cleaned),
    ``thread`` -> :func:`thread_input` of the earlier turns ``before`` and the utterance.
    """
    if mode == 'thread':
        return thread_input(list(before) + [utterance])
    return utterance_text(utterance)


def labelled_utterances(thread):
    """
    (source, turn) for every annotated utterance of a thread: the Reddit turns, then the DialoGPT
    and the GPT-3 reply. ``source`` is ``reddit``, ``dgpt`` or ``gpt3``.
    """
    for turn in thread['reddit_thread']:
        yield 'reddit', turn
    for field, model in RESPONSE_FIELDS.items():
        yield model, thread[field]


def stance_pairs(thread, adjacent_only=False):
    """
    (source, reply turn, towards turn, label) for every annotated stance of a thread, in file
    order: each Reddit turn after the first and each chatbot reply, towards every earlier Reddit
    turn (``adjacent_only``: only towards the turn just before it).
    """
    reddit = thread['reddit_thread']
    for source, turn in labelled_utterances(thread):
        towards_ids = range(1, turn['turn_id'])
        if adjacent_only:
            towards_ids = towards_ids[-1:]
        for j in towards_ids:
            yield source, turn, reddit[j - 1], turn[stance_field(j)]
