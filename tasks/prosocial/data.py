"""
Reading ProsocialDialog files, in either official layout, into dialogues of validated turns.

Two official layouts hold the same content:

* the HF dataset ``allenai/prosocial-dialog``: JSON Lines, one row per (context, response) pair
  with ``dialogue_id`` / ``response_id`` (the 5-row HF-viewer export with one list per column is
  read too);
* the direct download that ParlAI's built-in ``prosocial_dialog`` task uses: one JSON list of
  dialogues, each a list of turns with ``text`` and ``labels``.

Both become a list of dialogues; a dialogue is a list of turns in HF field names, in turn order
(the fields of ``prosocial_rows.TURN_FIELDS`` and ``dialogue_id`` / ``response_id``; ``rots`` a
list). Every problem is reported as a :class:`ProsocialDataError` naming file, row and field;
nothing is skipped or repaired. Structure is checked in both layouts: a dialogue's turns are
numbered 0..n-1 and only its last is marked ``episode_done`` (a file cut at a row boundary inside
a dialogue fails here), a field repeated in one JSON object, a repeated turn (same context and
reply twice in one dialogue; in the HF layout also a repeated ``response_id``) or dialogue (same
turns as an earlier one; in the HF layout also a ``dialogue_id`` whose rows are not together),
``safety_annotations`` that are not three votes from ``VOTES``, and an empty dataset.

What may be in the real release but looks wrong is counted, not refused (:func:`anomaly_kinds`,
reported in one line when a teacher loads the file; ``--prosocial-anomalies error`` refuses it):
a safety label other than the one A.4's rule derives from the three votes, an empty or
whitespace-only utterance or RoT, and one of our markers (``formats.PROSOCIAL_MARKERS``) inside a
text.

One reader for every layout (:func:`read_file`): the rows, however they are stored, are checked
field by field against ``prosocial_rows`` (in C for JSON Lines, see
:func:`~parlai_prosocial.data_files.json_lines`) and go through one pass, :func:`_dialogues`,
that builds the dialogues, checks their structure and counts the anomalies.
"""

import os
from operator import itemgetter

from parlai_prosocial import errors
from parlai_prosocial.data_files import (
    Anomalies,
    check_object,
    checked_fields,
    json_lines,
    load_json_file,
)
from parlai_prosocial.formats import LABEL_OF_VOTES, PROSOCIAL_MARKERS, markers_start
from parlai_prosocial.prosocial_rows import DIRECT_DOWNLOAD_FIELDS, ROW_FIELDS

#: what every marker starts with (see :func:`~parlai_prosocial.formats.markers_start`)
MARKER_START = markers_start(PROSOCIAL_MARKERS)
assert MARKER_START, 'the markers share no start: the quick test needs another form'

SPLIT_FILES = {'train': 'train.json', 'valid': 'valid.json', 'test': 'test.json'}


class ProsocialDataError(errors.ProsocialDataError):
    """
    A ProsocialDialog file that cannot be read as it is.
    """


def read_file(path):
    """
    (dialogues, anomalies) of one ProsocialDialog file in any layout: every dialogue, in file
    order (as :func:`read_dialogues`), and the :class:`~parlai_prosocial.data_files.Anomalies`
    found in them.
    """
    if not os.path.isfile(path):
        raise ProsocialDataError(f'{path}: no such file')
    first = _first_line(path)
    if not first:
        raise ProsocialDataError(f'{path}: the file is empty')
    # a byte order mark is refused by whichever reader the first line leads to
    if first.startswith('['):
        data = load_json_file(path, ProsocialDataError)
        rows = _direct_download_rows(data, path)
        where = lambda key: f'{path}: dialogue {key[0]}, turn {key[1]}'  # noqa: E731
    elif _is_column_export(first):
        rows = _hf_column_rows(load_json_file(path, ProsocialDataError), path)
        where = lambda i: f'{path}: row {i}'  # noqa: E731
    else:
        rows = json_lines(path, ProsocialDataError, ROW_FIELDS)
        where = lambda line: f'{path}: line {line}'  # noqa: E731
    return _dialogues(rows, where, path)


def read_dialogues(path):
    """
    All dialogues of one ProsocialDialog file, in file order.
    """
    return read_file(path)[0]


def split_path(data_dir, split):
    """
    The file of ``split`` (train / valid / test) in ``data_dir``.
    """
    return os.path.join(data_dir, SPLIT_FILES[split])


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
    except (ValueError, RecursionError):
        return True  # an object spread over several lines (or not JSON: the reader says so)
    return (
        isinstance(first_row, dict)
        and bool(first_row)
        and all(isinstance(v, list) for v in first_row.values())
    )


def _hf_column_rows(data, path):
    """
    ``(i, row)`` of the HF viewer's column export: one list per field, all of the same length.
    """
    if not isinstance(data, dict):
        raise ProsocialDataError(f'{path}: expected JSON Lines rows or a list of dialogues')
    check_object(data, path, ProsocialDataError)
    lengths = {field: len(v) for field, v in data.items() if isinstance(v, list)}
    if not data or len(lengths) != len(data) or len(set(lengths.values())) != 1:
        raise ProsocialDataError(
            f'{path}: a JSON object must hold one list per field, all of one length '
            f'(HF column layout); got lengths {lengths}'
        )
    for i in range(next(iter(lengths.values()))):
        row = {field: values[i] for field, values in data.items()}
        yield i, checked_fields(row, ROW_FIELDS, f'{path}: row {i}', ProsocialDataError)


def _direct_download_rows(data, path):
    """
    ``((dialogue, turn), row)`` of the direct download's list of dialogues, each turn as an HF
    row: ``text`` is the context, the one entry of ``labels`` the response, the ids the turn's
    place (``episode_done`` None where the file leaves it out). Each dialogue's ``episode_done``
    flags are checked before the next dialogue is read.
    """
    if not isinstance(data, list):
        raise ProsocialDataError(f'{path}: expected a list of dialogues, got {type(data).__name__}')
    for dialogue_id, dialogue in enumerate(data):
        if not isinstance(dialogue, list) or not dialogue:
            raise ProsocialDataError(
                f'{path}: dialogue {dialogue_id}: expected a non-empty list of turns'
            )

        def where(t, d=dialogue_id):
            return f'{path}: dialogue {d}, turn {t}'

        rows = []
        for response_id, turn in enumerate(dialogue):
            row = checked_fields(turn, DIRECT_DOWNLOAD_FIELDS, where(response_id), ProsocialDataError)
            labels = row.pop('labels')
            if len(labels) != 1:
                raise ProsocialDataError(
                    f'{where(response_id)}: field "labels" holds {len(labels)} responses, '
                    'expected 1'
                )
            done = turn.get('episode_done')
            if 'episode_done' in turn and not isinstance(done, bool):
                raise ProsocialDataError(
                    f'{where(response_id)}: field "episode_done" is {done!r}, expected true or '
                    'false'
                )
            row['context'] = row.pop('text')
            row['response'] = labels[0]
            row['dialogue_id'] = dialogue_id
            row['response_id'] = response_id
            row['episode_done'] = done
            rows.append(((dialogue_id, response_id), row))
        _check_episode_done([row['episode_done'] for _, row in rows], where, dialogue_id)
        yield from rows


def _dialogues(rows, where, path):
    """
    (dialogues, anomalies) of ``rows``, ``(key, row)`` in file order, each row with the fields of
    ``prosocial_rows.ROW_FIELDS`` of their types; ``where(key)`` names a row. The rows of a
    dialogue must be together, numbered 0..n-1 by ``response_id`` (in any order: turns are put in
    it) and only the last marked ``episode_done`` (None: not said). One pass over the rows: an
    error of a row (its dialogue again after others, its ``response_id`` repeated) is raised at
    once, as the rows' own errors are while they are read; the first dialogue numbered or marked
    wrongly is raised after the last row is read. The repeat check runs only when a quick test
    in the pass finds two turns of a dialogue, or the first turns of two dialogues, with one
    context.
    """
    dialogues, starts, keys, dones, found = [], [], [], [], []
    first_key = {}  # dialogue_id -> the key of its first row
    first_contexts = {}  # the context of a dialogue's first row -> that dialogue
    turns = contexts = current = None
    done = True  # of the row before
    ordered = True  # the current dialogue's rows are its turns 0, 1, ..., none done but the last
    may_repeat = reordered = False
    problem = None  # the first dialogue's wrong numbering or episode_done, raised at the end

    def settle():
        # put the current dialogue's turns in order and say what is wrong with it, if anything
        nonlocal reordered
        start = starts[-1]
        numbers = sorted(turn['response_id'] for turn in turns)
        if numbers != list(range(len(turns))):
            return (
                f'{where(keys[start])}: field "response_id" of dialogue {current} numbers its '
                f'turns {numbers}, expected 0..{len(turns) - 1}: a turn is missing'
            )
        order = sorted(range(len(turns)), key=lambda i: turns[i]['response_id'])
        if order != list(range(len(turns))):
            reordered = True
            turns[:] = [turns[i] for i in order]
            keys[start:] = [keys[start + i] for i in order]
            dones[start:] = [dones[start + i] for i in order]
        try:
            _check_episode_done(dones[start:], lambda t: where(keys[start + t]), current)
        except ProsocialDataError as e:
            return str(e)
        return None

    for key, row in rows:
        dialogue_id, response_id, context = row['dialogue_id'], row['response_id'], row['context']
        if dialogue_id != current:
            if dialogue_id in first_key:
                first = _short_where(where(first_key[dialogue_id]))
                raise ProsocialDataError(
                    f'{where(key)}: field "dialogue_id": dialogue {dialogue_id} appears again '
                    f'after other dialogues (its first row: {first}); expected the rows of a '
                    'dialogue together, each dialogue once'
                )
            if turns is not None and not (ordered and done is True) and problem is None:
                problem = settle()
            first_key[dialogue_id] = key
            if first_contexts.setdefault(context, len(dialogues)) != len(dialogues):
                may_repeat = True
            current, turns, contexts = dialogue_id, [], [context]
            ordered = response_id == 0
            dialogues.append(turns)
            starts.append(len(keys))
        else:
            if not ordered or response_id != len(turns):
                if any(turn['response_id'] == response_id for turn in turns):
                    raise ProsocialDataError(
                        f'{where(key)}: field "response_id" repeats turn {response_id} of '
                        f'dialogue {dialogue_id}'
                    )
                ordered = False
            elif done is not False:
                ordered = False
            if context in contexts:
                may_repeat = True
            contexts.append(context)
        if row['rots'] is None:
            row['rots'] = []
        done = row.pop('episode_done')
        turns.append(row)
        keys.append(key)
        dones.append(done)
        kinds = anomaly_kinds(row)
        if kinds:
            found.append((len(dialogues) - 1, response_id, key, kinds))
    if turns is not None and not (ordered and done is True) and problem is None:
        problem = settle()
    if problem is not None:
        raise ProsocialDataError(problem)
    if not dialogues:
        raise ProsocialDataError(f'{path}: no dialogues in the file; expected at least one')
    if may_repeat or reordered:
        _check_repeats(dialogues, lambda d, t: where(keys[starts[d] + t]))
    anomalies = Anomalies()
    for _, _, key, kinds in sorted(found, key=itemgetter(0, 1)):  # in turn order, as dialogues
        for kind in kinds:
            anomalies.add(kind, where(key))
    return dialogues, anomalies


def _short_where(where):
    return where.split(': ', 1)[1] if ': ' in where else where


def _check_episode_done(flags, where, dialogue_id):
    """
    Only the last turn of a dialogue is marked done (``flags``: each turn's ``episode_done``, None
    where not said; ``where(t)`` names turn t): a last turn marked not done is a dialogue cut
    short (e.g. a file cut at a row boundary), a done turn before the end is two dialogues under
    one id.
    """
    last = len(flags) - 1
    if flags[last] is not False and True not in flags[:last]:
        return
    for i, done in enumerate(flags):
        if i == last and done is False:
            raise ProsocialDataError(
                f'{where(i)}: field "episode_done" is false, but this is the last turn (turn {i}) '
                f'of dialogue {dialogue_id}: expected true; is the dialogue cut short (a '
                'truncated file)?'
            )
        if i < last and done is True:
            raise ProsocialDataError(
                f'{where(i)}: field "episode_done" is true, but dialogue {dialogue_id} goes on '
                f'(turn {i + 1}: {_short_where(where(i + 1))}): expected false on every turn '
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
