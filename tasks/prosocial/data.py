"""
Reading ProsocialDialog files, in either official layout, into dialogues of validated turns.

Two official layouts hold the same content:

* the HF dataset ``allenai/prosocial-dialog``: JSON Lines, one row per (context, response) pair
  with ``dialogue_id`` / ``response_id`` (the 5-row HF-viewer export with one list per column is
  read too);
* the direct download that ParlAI's built-in ``prosocial_dialog`` task uses: one JSON list of
  dialogues, each a list of turns with ``text`` and ``labels``.

Both become a list of dialogues; a dialogue is a list of turns in HF field names, in turn order.
Every problem is reported as a :class:`ProsocialDataError` naming file, row and field; nothing is
skipped or repaired. Structure is checked in both layouts: a dialogue's turns are numbered
0..n-1 and only its last is marked ``episode_done`` (a file cut at a row boundary inside a
dialogue fails here), a field repeated in one JSON object, a repeated turn (same context and
reply twice in one dialogue; in the HF layout also a repeated ``response_id``) or dialogue (same
turns as an earlier one; in the HF layout also a ``dialogue_id`` whose rows are not together),
``safety_annotations`` that are not three votes from ``VOTES``, and an empty dataset.

What may be in the real release but looks wrong is counted, not refused (:func:`find_anomalies`,
reported in one line when a teacher loads the file; ``--prosocial-anomalies error`` refuses it):
a safety label other than the one A.4's rule derives from the three votes, an empty or
whitespace-only utterance or RoT, and one of our markers (``formats.PROSOCIAL_MARKERS``) inside a text.
"""

import os
from collections import OrderedDict, namedtuple
from operator import itemgetter
from typing import List, Literal, Optional, TypedDict

from parlai_prosocial import errors
from parlai_prosocial.data_files import (
    Anomalies,
    check_object,
    fast_json_lines,
    json_lines,
    load_json_file,
)
from parlai_prosocial.formats import (
    LABEL_OF_VOTES,
    PROSOCIAL_MARKERS,
    SAFETY_LABELS,
    VOTES,
    VOTES_PER_TURN,
    markers_start,
)

#: what every marker starts with (see :func:`~parlai_prosocial.formats.markers_start`)
MARKER_START = markers_start(PROSOCIAL_MARKERS)
assert MARKER_START, 'the markers share no start: the quick test needs another form'

SPLIT_FILES = {'train': 'train.json', 'valid': 'valid.json', 'test': 'test.json'}


class ProsocialDataError(errors.ProsocialDataError):
    """
    A ProsocialDialog file that cannot be read as it is.
    """


def _is_str_list(value):
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


# field -> (check, what the check wants)
_TURN_FIELDS = OrderedDict(
    [
        ('context', (lambda v: isinstance(v, str), 'a string')),
        ('response', (lambda v: isinstance(v, str), 'a string')),
        ('rots', (lambda v: v is None or _is_str_list(v), 'a list of strings or null')),
        ('safety_label', (lambda v: v in SAFETY_LABELS, 'one of ' + ', '.join(SAFETY_LABELS))),
        (
            'safety_annotations',
            (
                lambda v: _is_str_list(v) and len(v) == VOTES_PER_TURN and set(v) <= set(VOTES),
                f'a list of {VOTES_PER_TURN} votes, each one of ' + ', '.join(map(repr, VOTES)),
            ),
        ),
        ('safety_annotation_reasons', (_is_str_list, 'a list of strings')),
        ('source', (lambda v: isinstance(v, str), 'a string')),
        ('etc', (lambda v: isinstance(v, str), 'a string')),
    ]
)
_HF_ID_FIELDS = OrderedDict(
    [
        ('dialogue_id', (lambda v: isinstance(v, int) and not isinstance(v, bool), 'an integer')),
        ('response_id', (lambda v: isinstance(v, int) and not isinstance(v, bool), 'an integer')),
        ('episode_done', (lambda v: isinstance(v, bool), 'true or false')),
    ]
)


#: An HF row as the fast path's decoder checks it (:func:`~parlai_prosocial.data_files.fast_json_lines`): the
#: fields of ``_TURN_FIELDS`` and ``_HF_ID_FIELDS`` with what their checks want, as types (the
#: decoder refuses a bool as an integer, as the checks do); the number of votes is checked after
HFRow = TypedDict(
    'HFRow',
    {
        'context': str,
        'response': str,
        'rots': Optional[List[str]],
        'safety_label': Literal[SAFETY_LABELS],
        'safety_annotations': List[Literal[VOTES]],
        'safety_annotation_reasons': List[str],
        'source': str,
        'etc': str,
        'dialogue_id': int,
        'response_id': int,
        'episode_done': bool,
    },
)
assert list(HFRow.__annotations__) == list(_TURN_FIELDS) + list(_HF_ID_FIELDS)


def _checked(row, fields, where):
    if not isinstance(row, dict):
        raise ProsocialDataError(f'{where}: expected a JSON object, got {type(row).__name__}')
    check_object(row, where, ProsocialDataError)
    for field, (is_valid, wanted) in fields.items():
        if field not in row:
            raise ProsocialDataError(f'{where}: missing field "{field}"')
        if not is_valid(row[field]):
            raise ProsocialDataError(
                f'{where}: field "{field}" is {row[field]!r}, expected {wanted}'
            )
    return row


def _turn(row, **ids):
    """
    One turn in HF field names, ``rots`` as a list (the HF files write null for no RoTs).
    """
    turn = {field: row[field] for field in _TURN_FIELDS}
    turn['rots'] = list(row['rots'] or [])
    turn.update(ids)
    return turn


def _dialogues_from_hf_rows(rows):
    """
    ``rows`` yields (row number, location, row); the rows of a dialogue must be together, and
    ``response_id`` must number a dialogue's turns 0..n-1; turns are ordered by it. Returns
    (dialogues, locations), ``locations[d][t]`` naming the row of turn t of dialogue d.
    """
    fields = OrderedDict(list(_TURN_FIELDS.items()) + list(_HF_ID_FIELDS.items()))
    dialogues = OrderedDict()
    where_of = {}
    current = None
    for _, where, row in rows:
        row = _checked(row, fields, where)
        dialogue_id, response_id = row['dialogue_id'], row['response_id']
        if dialogue_id != current and dialogue_id in dialogues:
            first_where = next(iter(where_of[dialogue_id].values()))
            raise ProsocialDataError(
                f'{where}: field "dialogue_id": dialogue {dialogue_id} appears again after other '
                f'dialogues (its first row: {_short_where(first_where)}); expected the rows of a '
                'dialogue together, each dialogue once'
            )
        current = dialogue_id
        turns = dialogues.setdefault(dialogue_id, {})
        if response_id in turns:
            raise ProsocialDataError(
                f'{where}: field "response_id" repeats turn {response_id} of dialogue {dialogue_id}'
            )
        turns[response_id] = (
            _turn(row, dialogue_id=dialogue_id, response_id=response_id),
            row['episode_done'],
        )
        where_of.setdefault(dialogue_id, {})[response_id] = where
    result, locations = [], []
    for dialogue_id, turns in dialogues.items():
        first_where = next(iter(where_of[dialogue_id].values()))
        if sorted(turns) != list(range(len(turns))):
            raise ProsocialDataError(
                f'{first_where}: field "response_id" of dialogue {dialogue_id} '
                f'numbers its turns {sorted(turns)}, expected 0..{len(turns) - 1}: '
                'a turn is missing'
            )
        order = range(len(turns))
        _check_episode_done(
            [turns[i][1] for i in order], [where_of[dialogue_id][i] for i in order], dialogue_id
        )
        result.append([turns[i][0] for i in order])
        locations.append([where_of[dialogue_id][i] for i in order])
    return result, locations


#: what :func:`_fast_dialogues_from_hf_rows` found, besides the dialogues: ``first_rows[d]`` is the
#: index of dialogue d's first row, ``anomalies`` holds (row index, anomaly kinds) of every turn
#: with an anomaly, and ``may_repeat`` tells whether a turn or dialogue may repeat (two turns of a
#: dialogue, or the first turns of two dialogues, with the same context): only then is the exact
#: check, :func:`_check_repeats`, needed
FastRead = namedtuple('FastRead', 'dialogues first_rows anomalies may_repeat')


def _fast_dialogues_from_hf_rows(rows):
    """
    What :func:`_dialogues_from_hf_rows` returns, for rows the decoder has read with their types
    checked (:class:`HFRow`) and that hold no error, and each turn's soft anomalies, in
    one pass (a pass per check, or a call per field, dominated reading the full training set):
    a :data:`FastRead`, or ``None`` when any row is not plainly valid and in order (three votes,
    the rows of a dialogue together and numbered 0..n-1 in file order, only its last done, each
    dialogue once), for the strict reader to read and report. The turns are the rows themselves,
    ``episode_done`` taken out and ``rots`` a list, so they equal the strict reader's turns.
    """
    dialogues, first_rows, anomalies, seen, first_contexts = [], [], [], set(), {}
    turns, contexts, current, done, may_repeat = None, None, None, True, False
    for i, row in enumerate(rows):
        dialogue_id, response_id, context = row['dialogue_id'], row['response_id'], row['context']
        if len(row['safety_annotations']) != VOTES_PER_TURN:
            return None
        if response_id == 0:
            if not done or dialogue_id in seen:
                return None
            seen.add(dialogue_id)
            if first_contexts.setdefault(context, i) != i:
                may_repeat = True
            turns, contexts = [], [context]
            dialogues.append(turns)
            first_rows.append(i)
        elif done or dialogue_id != current or response_id != len(turns):
            return None
        else:
            if context in contexts:
                may_repeat = True
            contexts.append(context)
        if row['rots'] is None:
            row['rots'] = []
        current = dialogue_id
        done = row.pop('episode_done')
        turns.append(row)
        kinds = anomaly_kinds(row)
        if kinds:
            anomalies.append((i, kinds))
    if not done:
        return None
    return FastRead(dialogues, first_rows, anomalies, may_repeat)


def _short_where(where):
    return where.split(': ', 1)[1] if ': ' in where else where


def _check_episode_done(flags, wheres, dialogue_id):
    """
    Only the last turn of a dialogue is marked done: a last turn marked not done is a dialogue
    cut short (e.g. a file cut at a row boundary), a done turn before the end is two dialogues
    under one id.
    """
    last = len(flags) - 1
    for i, (done, where) in enumerate(zip(flags, wheres)):
        if i == last and done is False:
            raise ProsocialDataError(
                f'{where}: field "episode_done" is false, but this is the last turn (turn {i}) of '
                f'dialogue {dialogue_id}: expected true; is the dialogue cut short (a truncated '
                'file)?'
            )
        if i < last and done is True:
            raise ProsocialDataError(
                f'{where}: field "episode_done" is true, but dialogue {dialogue_id} goes on '
                f'(turn {i + 1}: {_short_where(wheres[i + 1])}): expected false on every turn '
                'but the last'
            )


_CONTEXT_AND_RESPONSE = itemgetter('context', 'response')


def _check_repeats(dialogues, where):
    """
    A turn (context and reply) twice in one dialogue, or a dialogue with exactly the turns of an
    earlier one: both are errors, in either layout. ``where(d, t)`` names turn t of dialogue d.
    """
    first_of = {}
    for d, turns in enumerate(dialogues):
        key = tuple(map(_CONTEXT_AND_RESPONSE, turns))
        if len(set(key)) != len(key):
            first_turn = {}
            for t, pair in enumerate(key):
                earlier = first_turn.setdefault(pair, t)
                if earlier != t:
                    raise ProsocialDataError(
                        f'{where(d, t)}: fields "context"/"response" repeat the turn at '
                        f'{_short_where(where(d, earlier))} of the same dialogue: expected each '
                        'turn once'
                    )
        earlier = first_of.setdefault(key, d)
        if earlier != d:
            raise ProsocialDataError(
                f'{where(d, 0)}: the dialogue starting here repeats, turn for turn, the one '
                f'starting at {_short_where(where(earlier, 0))}: expected each dialogue once'
            )


def _dialogues_from_parlai_layout(data, path):
    if not isinstance(data, list):
        raise ProsocialDataError(
            f'{path}: expected a list of dialogues, got {type(data).__name__}'
        )
    fields = OrderedDict(
        [('text', _TURN_FIELDS['context']), ('labels', (_is_str_list, 'a list of strings'))]
        + [(f, check) for f, check in _TURN_FIELDS.items() if f not in ('context', 'response')]
    )
    dialogues, locations = [], []
    for dialogue_id, dialogue in enumerate(data):
        if not isinstance(dialogue, list) or not dialogue:
            raise ProsocialDataError(
                f'{path}: dialogue {dialogue_id}: expected a non-empty list of turns'
            )
        turns, wheres, flags = [], [], []
        for response_id, row in enumerate(dialogue):
            where = f'{path}: dialogue {dialogue_id}, turn {response_id}'
            row = _checked(row, fields, where)
            if len(row['labels']) != 1:
                raise ProsocialDataError(
                    f'{where}: field "labels" holds {len(row["labels"])} responses, expected 1'
                )
            done = row.get('episode_done')
            if 'episode_done' in row and not isinstance(done, bool):
                raise ProsocialDataError(
                    f'{where}: field "episode_done" is {done!r}, expected true or false'
                )
            row = dict(row, context=row['text'], response=row['labels'][0])
            turns.append(_turn(row, dialogue_id=dialogue_id, response_id=response_id))
            wheres.append(where)
            flags.append(done)
        _check_episode_done(flags, wheres, dialogue_id)
        dialogues.append(turns)
        locations.append(wheres)
    return dialogues, locations


def _hf_column_rows(data, path):
    """
    Rows of the HF viewer's column export: one list per field, all of the same length.
    """
    check_object(data, path, ProsocialDataError)
    lengths = {field: len(v) for field, v in data.items() if isinstance(v, list)}
    if not data or len(lengths) != len(data) or len(set(lengths.values())) != 1:
        raise ProsocialDataError(
            f'{path}: a JSON object must hold one list per field, all of one length '
            f'(HF column layout); got lengths {lengths}'
        )
    for i in range(next(iter(lengths.values()))):
        yield i, f'{path}: row {i}', {field: values[i] for field, values in data.items()}


def _first_line(path):
    """
    The first non-blank line, only to tell the layouts apart (the readers report bad bytes).
    """
    with open(path, 'rb') as f:
        for raw_line in f:
            if raw_line.strip():
                return raw_line.decode('utf-8', errors='replace').strip()
    return ''


def _is_column_export(first):
    """
    Whether the first line opens the HF viewer's column export (one object of lists, usually
    pretty-printed) rather than being a JSON Lines row.
    """
    import json

    try:
        first_row = json.loads(first)
    except ValueError:
        return True  # an object spread over several lines (or not JSON: the reader says so)
    return (
        isinstance(first_row, dict)
        and bool(first_row)
        and all(isinstance(v, list) for v in first_row.values())
    )


def read_file(path, fast=True):
    """
    (dialogues, anomalies) of one ProsocialDialog file: every dialogue, in file order (as
    :func:`read_dialogues`), and the :class:`~parlai_prosocial.data_files.Anomalies` found in them.

    A JSON Lines file with no error in it (soft anomalies may be) is read by the fast path
    (:func:`fast_json_lines`, :func:`_fast_dialogues_from_hf_rows`), anything else row by row
    (``fast=False``: always);
    both give the same dialogues, anomalies and errors (tests/test_readers_bad_input.py).
    """
    if not os.path.isfile(path):
        raise ProsocialDataError(f'{path}: no such file')
    first = _first_line(path)
    if not first:
        raise ProsocialDataError(f'{path}: the file is empty')
    if first.startswith('\ufeff'):
        from parlai_prosocial.data_files import bom_message

        raise ProsocialDataError(bom_message(path))
    layout = _layout(first)
    fast_read = None
    if fast and layout == 'rows':
        rows = fast_json_lines(path, HFRow)
        fast_read = rows and _fast_dialogues_from_hf_rows(rows)
    if fast_read:
        dialogues = fast_read.dialogues
        first_rows = fast_read.first_rows
        row_where = lambda i: f'{path}: line {i + 1}'  # noqa: E731  (row i is line i + 1)
        where = lambda d, t: row_where(first_rows[d] + t)  # noqa: E731
    else:
        dialogues, locations = _read_strictly(path, layout)
        where = lambda d, t: locations[d][t]  # noqa: E731
    if not dialogues:
        raise ProsocialDataError(f'{path}: no dialogues in the file; expected at least one')
    if not fast_read or fast_read.may_repeat:
        _check_repeats(dialogues, where)
    if not fast_read:
        return dialogues, find_anomalies(dialogues, where)
    anomalies = Anomalies()
    for i, kinds in fast_read.anomalies:
        for kind in kinds:
            anomalies.add(kind, row_where(i))
    return dialogues, anomalies


def _layout(first):
    """
    The layout of a file by its first line: ``'dialogues'`` (the direct download's list of
    dialogues), ``'columns'`` (the HF viewer's export) or ``'rows'`` (HF JSON Lines).
    """
    if first.startswith('['):
        return 'dialogues'
    return 'columns' if _is_column_export(first) else 'rows'


def _read_strictly(path, layout):
    """
    (dialogues, locations) of a file in any layout, row by row, every problem reported.
    """
    if layout == 'dialogues':
        return _dialogues_from_parlai_layout(load_json_file(path, ProsocialDataError), path)
    if layout == 'rows':
        return _dialogues_from_hf_rows(json_lines(path, ProsocialDataError))
    data = load_json_file(path, ProsocialDataError)
    if not isinstance(data, dict):
        raise ProsocialDataError(f'{path}: expected JSON Lines rows or a list of dialogues')
    return _dialogues_from_hf_rows(_hf_column_rows(data, path))


def read_dialogues(path):
    """
    All dialogues of one ProsocialDialog file, in file order.
    """
    return read_file(path)[0]


def find_anomalies(dialogues, where):
    """
    The soft anomalies of the module docstring; ``where(d, t)`` names turn t of dialogue d.
    """
    anomalies = Anomalies()
    for d, turns in enumerate(dialogues):
        for t, turn in enumerate(turns):
            for kind in anomaly_kinds(turn):
                anomalies.add(kind, where(d, t))
    return anomalies


def anomaly_kinds(turn):
    """
    The kinds of soft anomaly (module docstring) in one turn, as :class:`Anomalies` counts them;
    empty for almost every turn.
    """
    context, response, rots = turn['context'], turn['response'], turn['rots']
    kinds = []
    if turn['safety_label'] != LABEL_OF_VOTES[tuple(turn['safety_annotations'])]:
        kinds.append('safety_label contradicting its votes (A.4)')
    if not context.strip():
        kinds.append('empty context')
    if not response.strip():
        kinds.append('empty response')
    if rots and not all(map(str.strip, rots)):
        kinds.append('empty RoT')
    if (
        MARKER_START in context
        or MARKER_START in response
        or MARKER_START in '\n'.join(rots)  # '\n' makes no marker start across RoTs
    ):
        texts = [context, response] + rots
        if any(marker in text for text in texts for marker in PROSOCIAL_MARKERS):
            kinds.append('marker (__endrots__ or a safety label) inside a text')
    return kinds


def split_path(data_dir, split):
    """
    The file of ``split`` (train / valid / test) in ``data_dir``.
    """
    return os.path.join(data_dir, SPLIT_FILES[split])
