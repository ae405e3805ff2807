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
skipped or repaired.
"""

import json
import os
from collections import OrderedDict

from parlai_prosocial.tasks.local_data import json_lines

#: The five released safety levels, from least to most severe (paper A.4).
SAFETY_LABELS = (
    '__casual__',
    '__possibly_needs_caution__',
    '__probably_needs_caution__',
    '__needs_caution__',
    '__needs_intervention__',
)

#: The paper's three-way schema (§2.3): every caution level is "needs caution".
THREE_WAY_SAFETY = {
    '__casual__': '__casual__',
    '__possibly_needs_caution__': '__needs_caution__',
    '__probably_needs_caution__': '__needs_caution__',
    '__needs_caution__': '__needs_caution__',
    '__needs_intervention__': '__needs_intervention__',
}

THREE_WAY_LABELS = ('__casual__', '__needs_caution__', '__needs_intervention__')

SPLIT_FILES = {'train': 'train.json', 'valid': 'valid.json', 'test': 'test.json'}


class ProsocialDataError(ValueError):
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
        ('safety_annotations', (_is_str_list, 'a list of strings')),
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


def _checked(row, fields, where):
    if not isinstance(row, dict):
        raise ProsocialDataError(f'{where}: expected a JSON object, got {type(row).__name__}')
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
    ``rows`` yields (row number, location, row); rows are grouped by ``dialogue_id`` in order of first
    appearance and ordered by ``response_id``, which must number a dialogue's turns 0..n-1.
    """
    fields = OrderedDict(list(_TURN_FIELDS.items()) + list(_HF_ID_FIELDS.items()))
    dialogues = OrderedDict()
    first_row_of = {}
    for _, where, row in rows:
        row = _checked(row, fields, where)
        first_row_of.setdefault(row['dialogue_id'], where)
        turns = dialogues.setdefault(row['dialogue_id'], {})
        if row['response_id'] in turns:
            raise ProsocialDataError(
                f'{where}: field "response_id" repeats turn {row["response_id"]} '
                f'of dialogue {row["dialogue_id"]}'
            )
        turns[row['response_id']] = _turn(
            row, dialogue_id=row['dialogue_id'], response_id=row['response_id']
        )
    for dialogue_id, turns in dialogues.items():
        if sorted(turns) != list(range(len(turns))):
            raise ProsocialDataError(
                f'{first_row_of[dialogue_id]}: field "response_id" of dialogue {dialogue_id} '
                f'numbers its turns {sorted(turns)}, expected 0..{len(turns) - 1}: '
                'a turn is missing'
            )
    return [[turns[i] for i in range(len(turns))] for turns in dialogues.values()]


def _dialogues_from_parlai_layout(data, path):
    if not isinstance(data, list):
        raise ProsocialDataError(f'{path}: expected a list of dialogues')
    fields = OrderedDict(
        [('text', _TURN_FIELDS['context']), ('labels', (_is_str_list, 'a list of strings'))]
        + [(f, check) for f, check in _TURN_FIELDS.items() if f not in ('context', 'response')]
    )
    dialogues = []
    for dialogue_id, dialogue in enumerate(data):
        if not isinstance(dialogue, list) or not dialogue:
            raise ProsocialDataError(
                f'{path}: dialogue {dialogue_id}: expected a non-empty list of turns'
            )
        turns = []
        for response_id, row in enumerate(dialogue):
            where = f'{path}: dialogue {dialogue_id}, turn {response_id}'
            row = _checked(row, fields, where)
            if len(row['labels']) != 1:
                raise ProsocialDataError(
                    f'{where}: field "labels" holds {len(row["labels"])} responses, expected 1'
                )
            row = dict(row, context=row['text'], response=row['labels'][0])
            turns.append(_turn(row, dialogue_id=dialogue_id, response_id=response_id))
        dialogues.append(turns)
    return dialogues


def _hf_column_rows(data, path):
    """
    Rows of the HF viewer's column export: one list per field, all of the same length.
    """
    lengths = {field: len(v) for field, v in data.items() if isinstance(v, list)}
    if len(lengths) != len(data) or len(set(lengths.values())) != 1:
        raise ProsocialDataError(
            f'{path}: a JSON object must hold one list per field, all of one length '
            f'(HF column layout); got lengths {lengths}'
        )
    for i in range(next(iter(lengths.values()))):
        yield i, f'{path}: row {i}', {field: values[i] for field, values in data.items()}


def _load_json(path):
    with open(path, encoding='utf-8') as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as e:
            raise ProsocialDataError(
                f'{path}: line {e.lineno}: not valid JSON ({e.msg}); is the file truncated?'
            ) from None
        except UnicodeDecodeError as e:
            raise ProsocialDataError(
                f'{path}: not UTF-8 text ({e.reason} at byte {e.start}), so not a JSON file'
            ) from None


def _first_line(path):
    """
    The first non-blank line, only to tell the layouts apart (the readers report bad bytes).
    """
    with open(path, 'rb') as f:
        for raw_line in f:
            if raw_line.strip():
                return raw_line.decode('utf-8', errors='replace').strip()
    return ''


def read_dialogues(path):
    """
    All dialogues of one ProsocialDialog file, in file order.
    """
    if not os.path.isfile(path):
        raise ProsocialDataError(f'{path}: no such file')
    first = _first_line(path)
    if not first:
        raise ProsocialDataError(f'{path}: the file is empty')
    if first.startswith('['):
        return _dialogues_from_parlai_layout(_load_json(path), path)
    try:
        first_row = json.loads(first)
    except json.JSONDecodeError:
        first_row = None
    if isinstance(first_row, dict) and not all(isinstance(v, list) for v in first_row.values()):
        return _dialogues_from_hf_rows(json_lines(path, ProsocialDataError))
    # the HF viewer's column export: one (possibly pretty-printed) JSON object
    data = _load_json(path)
    if not isinstance(data, dict):
        raise ProsocialDataError(f'{path}: expected JSON Lines rows or a list of dialogues')
    return _dialogues_from_hf_rows(_hf_column_rows(data, path))


def split_path(data_dir, split):
    """
    The file of ``split`` (train / valid / test) in ``data_dir``.
    """
    return os.path.join(data_dir, SPLIT_FILES[split])
