"""
The bad-input case table (issue 9): each case -> the exact one-line message, at reader level
(fast), for every task's reader and the options; ``test_cli_bad_input.py`` runs a few of them
through the ``parlai`` command and ``test_prosocial_bad_input.py`` a few through a teacher. Every
error is a ``ProsocialError``.
"""

import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from parlai_prosocial.errors import (
    ProsocialDataError,
    ProsocialError,
    ProsocialOptionError,
)
from parlai_prosocial import data_files as local_data
from parlai_prosocial.prosocial_rows import DIRECT_DOWNLOAD_FIELDS, ROW_FIELDS
from parlai_prosocial.tasks.prosocial import data as prosocial_data
from parlai_prosocial.tasks.soda import data as soda_data
from parlai_prosocial.tasks.topical_chat import data as topical_data
from parlai_prosocial.tasks.toxichat import badwords
from parlai_prosocial.tasks.toxichat import data as toxichat_data
from parlai_prosocial.samples import sample_dir, write_sample
from parlai_prosocial.testing import create_teacher, one_epoch
from parlai_prosocial.testing.samples import read_sample_file

VOTES = "expected a list of 3 votes, each one of 'casual', 'needs caution', 'needs intervention'"
LABELS = (
    'expected one of __casual__, __possibly_needs_caution__, __probably_needs_caution__, '
    '__needs_caution__, __needs_intervention__'
)
#: a JSON value nested past Python's recursion limit (json and msgspec raise RecursionError)
DEEP = '[' * 100000 + ']' * 100000
TOO_DEEP = (
    'nests arrays and objects {n} levels deep, past Python\'s recursion limit; expected the few '
    'levels of the format'
)
LONE = (
    'holds a lone UTF-16 surrogate ({escape} without its other half), which is no character; '
    'expected text (a surrogate escape only as half of a pair)'
)


def error_of(read, path, error=ProsocialDataError):
    with pytest.raises(error) as info:
        read(str(path))
    assert isinstance(info.value, ProsocialError)
    message = str(info.value)
    assert '\n' not in message
    return message


# --- ProsocialDialog, HF JSON Lines (train: dialogue 0 = lines 1-3, 1 = 4-5, 2 = 6, 3 = 7-8) ---


def sample_lines():
    with open(os.path.join(sample_dir('prosocial'), 'train.json'), encoding='utf-8') as f:
        return f.read().splitlines(keepends=True)


def hf_file(tmp_path, edit=None):
    """
    The sample's ``train.json`` with ``edit(lines)`` applied (a line may become bytes).
    """
    lines = sample_lines()
    if edit is not None:
        edit(lines)
    path = tmp_path / 'train.json'
    path.write_bytes(b''.join(x if isinstance(x, bytes) else x.encode() for x in lines))
    return str(path)


def rows_edit(change):
    """
    An edit of the lines that applies ``change`` to the rows and writes them back.
    """

    def edit(lines):
        rows = [json.loads(line) for line in lines]
        change(rows)
        lines[:] = [json.dumps(row) + '\n' for row in rows]

    return edit


def set_field(line, field, value):
    return rows_edit(lambda rows: rows[line - 1].__setitem__(field, value))


def line_edit(number, change):
    def edit(lines):
        lines[number - 1] = change(lines[number - 1])

    return edit


def then(*edits):
    def edit(lines):
        for one in edits:
            one(lines)

    return edit


def hf_cases():
    def cut_mid_dialogue(rows):
        del rows[7]  # dialogue 3 loses its last row: the file cut at a row boundary

    def cut_mid_row(lines):
        lines[7] = lines[7][: lines[7].index('"rots"')]  # a download cut off inside a row

    cases = [
        (
            'the last line cut off',
            cut_mid_row,
            '{p}: line 8: not valid JSON (Expecting property name enclosed in double quotes); '
            'the last line is cut off: is the file truncated?',
        ),
        (
            'a line not UTF-8',
            line_edit(6, lambda line: line.encode().replace(b'neighbour', b'neighbour\xe9', 1)),
            '{p}: line 6: not UTF-8 text (invalid continuation byte at byte 25 of the line)',
        ),
        (
            'a row that is not an object',
            lambda lines: lines.append('["a", "list"]\n'),
            '{p}: line 9: expected a JSON object, got list',
        ),
        (
            'a field twice in one object',
            line_edit(2, lambda line: '{"rots": null, ' + line[1:]),
            '{p}: line 2: field "rots" appears twice in one JSON object; expected each field once',
        ),
        (
            # counting the fields would miss it if a space before the colon were not looked for
            'a field twice, once with a space before its colon',
            line_edit(2, lambda line: '{"rots" : null, ' + line[1:]),
            '{p}: line 2: field "rots" appears twice in one JSON object; expected each field once',
        ),
        (
            # msgspec refuses it; json, which reads the line again, takes it
            'a lone surrogate in a text',
            set_field(2, 'context', 'a lone \ud800 surrogate'),
            '{p}: line 2: field "context" ' + LONE.format(escape='\\ud800'),
        ),
        (
            'a field nested past the recursion limit',
            line_edit(5, lambda line: line.replace('"rots": ', f'"rots": {DEEP}, "x": ', 1)),
            '{p}: line 5: field "rots" ' + TOO_DEEP.format(n=100001),
        ),
        (
            # the first line also tells the layouts apart
            'the first line nested past the recursion limit',
            line_edit(1, lambda line: line.replace('"rots": ', f'"rots": {DEEP}, "x": ', 1)),
            '{p}: line 1: field "rots" ' + TOO_DEEP.format(n=100001),
        ),
        ('context null', set_field(5, 'context', None),
         '{p}: line 5: field "context" is None, expected a string'),
        ('rots a string', set_field(5, 'rots', "It's wrong."),
         '{p}: line 5: field "rots" is "It\'s wrong.", expected a list of strings or null'),
        ('a RoT a number', set_field(5, 'rots', ['ok', 3]),
         "{p}: line 5: field \"rots\" is ['ok', 3], expected a list of strings or null"),
        ('an unknown safety label', set_field(6, 'safety_label', 'needs caution'),
         "{p}: line 6: field \"safety_label\" is 'needs caution', " + LABELS),
        ('two votes', set_field(3, 'safety_annotations', ['casual', 'casual']),
         "{p}: line 3: field \"safety_annotations\" is ['casual', 'casual'], " + VOTES),
        ('four votes', set_field(3, 'safety_annotations', ['casual'] * 4),
         "{p}: line 3: field \"safety_annotations\" is ['casual', 'casual', 'casual', 'casual'], "
         + VOTES),
        ('a vote that is not a vote', set_field(2, 'safety_annotations', ['casual', 'casual',
                                                                          '__casual__']),
         "{p}: line 2: field \"safety_annotations\" is ['casual', 'casual', '__casual__'], "
         + VOTES),
        ('reasons null', set_field(5, 'safety_annotation_reasons', None),
         '{p}: line 5: field "safety_annotation_reasons" is None, expected a list of strings'),
        ('source a number', set_field(5, 'source', 3),
         '{p}: line 5: field "source" is 3, expected a string'),
        ('a dialogue_id string', set_field(5, 'dialogue_id', '1'),
         "{p}: line 5: field \"dialogue_id\" is '1', expected an integer"),
        ('a response_id true', set_field(5, 'response_id', True),
         '{p}: line 5: field "response_id" is True, expected an integer'),
        ('a response_id float', set_field(5, 'response_id', 1.0),
         '{p}: line 5: field "response_id" is 1.0, expected an integer'),
        (
            'a dialogue_id NaN',  # the decoder refuses NaN; json reads it, and the check says why
            line_edit(5, lambda line: line.replace('"dialogue_id": 1', '"dialogue_id": NaN')),
            '{p}: line 5: field "dialogue_id" is nan, expected an integer',
        ),
        ('episode_done a string', set_field(5, 'episode_done', 'false'),
         "{p}: line 5: field \"episode_done\" is 'false', expected true or false"),
        (
            'cut at a row boundary inside a dialogue',
            rows_edit(cut_mid_dialogue),
            '{p}: line 7: field "episode_done" is false, but this is the last turn (turn 0) of '
            'dialogue 3: expected true; is the dialogue cut short (a truncated file)?',
        ),
        (
            'episode_done before the last turn',
            set_field(1, 'episode_done', True),
            '{p}: line 1: field "episode_done" is true, but dialogue 0 goes on (turn 1: line 2): '
            'expected false on every turn but the last',
        ),
        (
            'a dialogue id again after other dialogues',
            rows_edit(lambda rows: rows.append(
                dict(rows[0], response_id=3, context='more', response='more'))),
            '{p}: line 9: field "dialogue_id": dialogue 0 appears again after other dialogues '
            '(its first row: line 1); expected the rows of a dialogue together, each dialogue '
            'once',
        ),
        (
            'a response_id repeated',
            set_field(5, 'response_id', 0),
            '{p}: line 5: field "response_id" repeats turn 0 of dialogue 1',
        ),
        (
            'a turn missing',  # dialogue 1 (two turns) numbered 1, 2
            set_field(4, 'response_id', 2),
            '{p}: line 4: field "response_id" of dialogue 1 numbers its turns [1, 2], expected '
            '0..1: a turn is missing',
        ),
        (
            'a dialogue repeated under another id',
            rows_edit(lambda rows: rows.append(dict(rows[5], dialogue_id=9))),
            '{p}: line 9: the dialogue starting here repeats, turn for turn, the one starting at '
            'line 6: expected each dialogue once',
        ),
        (
            'a turn repeated in its dialogue',
            rows_edit(lambda rows: rows[4].update(context=rows[3]['context'],
                                                  response=rows[3]['response'])),
            '{p}: line 5: fields "context"/"response" repeat the turn at line 4 of the same '
            'dialogue: expected each turn once',
        ),
        # several errors: the first in file order, each row's own before where it stands; a
        # dialogue's numbering and episode_done are known only after its last row
        (
            'a field twice on line 2 and a type on line 5',
            then(set_field(5, 'source', 3),
                 line_edit(2, lambda line: '{"etc": "", ' + line[1:])),
            '{p}: line 2: field "etc" appears twice in one JSON object; expected each field once',
        ),
        (
            'a dialogue cut short, then a field missing',
            then(set_field(1, 'episode_done', True),
                 rows_edit(lambda rows: rows[6].pop('etc'))),
            '{p}: line 7: missing field "etc"',
        ),
    ]
    cases += [
        (f'missing {field}', rows_edit(lambda rows, f=field: rows[3].pop(f)),
         f'{{p}}: line 4: missing field "{field}"')
        for field in ROW_FIELDS
    ]
    return cases


def sample_turns(edit_rows=None):
    """
    The sample's training dialogues as the reader gives them (turns without ``episode_done``,
    ``rots`` a list), after ``edit_rows(rows)``.
    """
    rows = read_sample_file('prosocial', 'train.json')
    if edit_rows is not None:
        edit_rows(rows)
    dialogues = []
    for row in rows:
        if row['response_id'] == 0:
            dialogues.append([])
        turn = {field: row[field] for field in ROW_FIELDS if field != 'episode_done'}
        dialogues[-1].append(dict(turn, rots=turn['rots'] or []))
    return dialogues


def changed(line, field, value):
    """
    One change of a field, as (an edit of the file's lines, the same edit of the rows).
    """
    return set_field(line, field, value), lambda rows: rows[line - 1].__setitem__(field, value)


EMOJI_AND_BACKSLASH = 'an emoji \U0001F600, then a backslash: \\ud800'

#: files the reader takes: name -> (edit of the lines, edit of the rows the dialogues then hold)
READ = {
    'blank lines between rows': (
        lambda lines: lines.insert(3, '  \n') or lines.insert(1, '\n'), None),
    'CRLF line ends': (lambda lines: lines.__setitem__(
        slice(None), [line.replace('\n', '\r\n') for line in lines]), None),
    'no newline at the end': (line_edit(8, str.rstrip), None),
    'a field the schema lacks (left out)': (set_field(3, 'note', 'x'), None),
    'a colon inside a text': changed(3, 'response', 'at 10:30, she said "no": twice'),
    # json reads the line (a field the schema lacks): a pair of \u escapes is one character,
    # and an escaped backslash before "ud800" is text
    'a surrogate pair and a backslash before ud800 in a text': (
        then(set_field(2, 'note', 'x'), set_field(2, 'context', EMOJI_AND_BACKSLASH)),
        lambda rows: rows[1].__setitem__('context', EMOJI_AND_BACKSLASH)),
    'a dialogue_id past 64 bits': changed(6, 'dialogue_id', 2**70),
    # the quick repeat test flags these; the exact check finds no repeated turn or dialogue
    'two turns of a dialogue with one context': changed(
        5, 'context', 'I told my coworker her cooking smells weird.'),
    'two dialogues opening with one context': changed(
        6, 'context', "I'm going to call 911 just for fun tonight."),
    'line separators inside a text (a line ends at \\n only)': (
        line_edit(1, lambda line: line.replace('"context": "', '"context": "a\u2028b\x85c ', 1)),
        lambda rows: rows[0].__setitem__('context', 'a\u2028b\x85c ' + rows[0]['context'])),
    'the rows of a dialogue out of order (read in response_id order)': (
        rows_edit(lambda rows: rows.__setitem__(slice(0, 3), rows[2::-1])), None),
}


@pytest.mark.parametrize('name', sorted(READ))
def test_prosocial_hf_read(tmp_path, name):
    edit, edit_rows = READ[name]
    path = hf_file(tmp_path, edit)
    assert prosocial_data.read_dialogues(path) == sample_turns(edit_rows)


def test_an_error_after_blank_lines_names_its_line(tmp_path):
    path = hf_file(tmp_path, then(set_field(3, 'source', 3), lambda lines: lines.insert(1, '\n')))
    assert error_of(prosocial_data.read_dialogues, path) == (
        f'{path}: line 4: field "source" is 3, expected a string'
    )


@pytest.mark.parametrize(
    'content, message',
    [
        (b'\n  \n', '{p}: the file is empty'),
        (b'[]', '{p}: no dialogues in the file; expected at least one'),
        (b'{"context": [], "response": []}', '{p}: no dialogues in the file; expected at least one'),
        (b'\xef\xbb\xbf' + json.dumps({'context': 'x'}).encode() + b'\n', 'BOM'),
        (b'\xef\xbb\xbf[]', 'BOM'),
        (b'context\tresponse\nhello\tworld\n', '{p}: line 1: not valid JSON (Expecting value at '
         'column 1)'),
        (
            b'\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03' + bytes(range(256)),  # e.g. the .tar.gz
            '{p}: not UTF-8 text (invalid start byte at byte 1), so not a JSON file',
        ),
        (
            b'{"context": ["a"], "response": ["b", "c"]}',
            "{p}: a JSON object must hold one list per field, all of one length (HF column "
            "layout); got lengths {{'context': 1, 'response': 2}}",
        ),
        (b'{"context": ["a"], "response": ["b"]}', '{p}: row 0: missing field "rots"'),
    ],
    ids=['blank', 'empty list', 'zero-length columns', 'BOM, JSON Lines', 'BOM, list',
         'a TSV', 'binary', 'columns of two lengths', 'a column missing'],
)
def test_prosocial_whole_file(tmp_path, content, message):
    path = tmp_path / 'train.json'
    path.write_bytes(content)
    expected = local_data.bom_message(str(path)) if message == 'BOM' else message.format(p=path)
    assert error_of(prosocial_data.read_dialogues, path) == expected
    if message == 'BOM':
        assert expected == (
            f'{path}: starts with a UTF-8 byte order mark (BOM); expected UTF-8 JSON without '
            'one (save the file as plain UTF-8)'
        )


def test_prosocial_no_such_file(tmp_path):
    path = tmp_path / 'train.json'
    assert error_of(prosocial_data.read_dialogues, path) == f'{path}: no such file'


# --- ProsocialDialog, the direct download's layout ---------------------------------------------


def direct_file(tmp_path, edit):
    data = read_sample_file('prosocial_dialog', 'train.json')
    edit(data)
    path = tmp_path / 'train.json'
    path.write_text(json.dumps(data, indent=1), encoding='utf-8')
    return str(path)


def set_turn(dialogue, turn, field, value):
    return lambda data: data[dialogue][turn].__setitem__(field, value)


def direct_cases():
    def repeat_turn(data):
        data[0][1].update(text=data[0][0]['text'], labels=list(data[0][0]['labels']))

    cases = [
        (
            'a turn repeated in its dialogue',
            repeat_turn,
            '{p}: dialogue 0, turn 1: fields "context"/"response" repeat the turn at dialogue 0, '
            'turn 0 of the same dialogue: expected each turn once',
        ),
        (
            'a dialogue repeated',
            lambda data: data.append(json.loads(json.dumps(data[2]))),
            '{p}: dialogue 4, turn 0: the dialogue starting here repeats, turn for turn, the one '
            'starting at dialogue 2, turn 0: expected each dialogue once',
        ),
        (
            'a dialogue cut short',
            lambda data: data[3].pop(),
            '{p}: dialogue 3, turn 0: field "episode_done" is false, but this is the last turn '
            '(turn 0) of dialogue 3: expected true; is the dialogue cut short (a truncated '
            'file)?',
        ),
        (
            'episode_done before the last turn',
            set_turn(0, 0, 'episode_done', True),
            '{p}: dialogue 0, turn 0: field "episode_done" is true, but dialogue 0 goes on (turn '
            '1: dialogue 0, turn 1): expected false on every turn but the last',
        ),
        (
            'episode_done a string',
            set_turn(0, 1, 'episode_done', 'no'),
            "{p}: dialogue 0, turn 1: field \"episode_done\" is 'no', expected true or false",
        ),
        (
            'two replies',
            lambda data: data[3][0]['labels'].append('another reply'),
            '{p}: dialogue 3, turn 0: field "labels" holds 2 responses, expected 1',
        ),
        (
            'labels a string',
            set_turn(0, 2, 'labels', 'a reply'),
            "{p}: dialogue 0, turn 2: field \"labels\" is 'a reply', expected a list of strings",
        ),
        (
            'one vote',
            set_turn(1, 0, 'safety_annotations', ['casual']),
            "{p}: dialogue 1, turn 0: field \"safety_annotations\" is ['casual'], " + VOTES,
        ),
        (
            'an unknown safety label',
            set_turn(2, 0, 'safety_label', '__unsafe__'),
            "{p}: dialogue 2, turn 0: field \"safety_label\" is '__unsafe__', " + LABELS,
        ),
        (
            'an empty dialogue',
            lambda data: data.insert(1, []),
            '{p}: dialogue 1: expected a non-empty list of turns',
        ),
        (
            'an empty list of dialogues',
            lambda data: data.clear(),
            '{p}: no dialogues in the file; expected at least one',
        ),
    ]
    cases += [
        (f'missing {field}', lambda data, f=field: data[1][1].pop(f),
         f'{{p}}: dialogue 1, turn 1: missing field "{field}"')
        for field in DIRECT_DOWNLOAD_FIELDS
    ]
    return cases


#: every bad ProsocialDialog file of the tables above: (id, writer of its layout, edit, message)
PROSOCIAL_CASES = [(f'hf: {name}', hf_file, edit, message) for name, edit, message in hf_cases()]
PROSOCIAL_CASES += [
    (f'direct: {name}', direct_file, edit, message) for name, edit, message in direct_cases()
]


@pytest.mark.parametrize(
    'write, edit, message', [c[1:] for c in PROSOCIAL_CASES], ids=[c[0] for c in PROSOCIAL_CASES]
)
def test_prosocial_bad_file(tmp_path, write, edit, message):
    path = write(tmp_path, edit)
    assert error_of(prosocial_data.read_dialogues, path) == message.format(p=path)


def test_prosocial_direct_download_repeated_field(tmp_path):
    path = direct_file(tmp_path, lambda data: None)
    text = open(path, encoding='utf-8').read()
    first_turn_of_second = text.index('"text"', text.index('"text"') + 1)
    text = text[:first_turn_of_second] + '"etc": "x",\n  ' + text[first_turn_of_second:]
    open(path, 'w', encoding='utf-8').write(text)
    assert error_of(prosocial_data.read_dialogues, path) == (
        f'{path}: dialogue 0, turn 1: field "etc" appears twice in one JSON object; expected '
        'each field once'
    )


def test_prosocial_direct_download_cut_off(tmp_path):
    path = direct_file(tmp_path, lambda data: None)
    text = open(path, encoding='utf-8').read()
    cut = text[: text.index('"safety_label"', len(text) // 2)]
    open(path, 'w', encoding='utf-8').write(cut)
    assert error_of(prosocial_data.read_dialogues, path) == (
        f'{path}: line {cut.count(chr(10)) + 1}: not valid JSON (Expecting property name '
        f'enclosed in double quotes at column {len(cut) - cut.rindex(chr(10))}); the file ends '
        'too early: is it truncated?'
    )


# --- ProsocialDialog: soft anomalies, counted; markers never reach a target ---------------------


def test_anomalies_are_counted_with_their_first_locations(tmp_path):
    def edit(rows):
        rows[5]['safety_label'] = '__casual__'  # its votes say needs intervention (A.4)
        rows[0]['safety_label'] = '__needs_intervention__'  # its votes: three needs caution
        rows[3]['response'] = '  '
        rows[4]['context'] = ''
        rows[6]['rots'] = ['ok', '']
        rows[1]['response'] = 'no __endrots__ here'
        rows[7]['rots'] = ['x __casual__']
        rows[2]['rots'] = ['a _', '_ b']  # no marker start across two RoTs

    path = hf_file(tmp_path, rows_edit(edit))
    dialogues, anomalies = prosocial_data.read_file(path)
    assert sum(len(d) for d in dialogues) == 8  # nothing dropped
    assert anomalies.summary(path) == (
        f'{path}: 7 anomalies: 1 x empty RoT (line 7); 1 x empty context (line 5); '
        '1 x empty response (line 4); '
        '2 x marker (__endrots__ or a safety label) inside a text (line 2, line 8); '
        '2 x safety_label contradicting its votes (A.4) (line 1, line 6)'
    )


def test_the_real_rows_have_no_anomalies(real_data):
    path = os.path.join(real_data('prosocial-dialog'), 'hf-columns-sample.json')
    dialogues, anomalies = prosocial_data.read_file(path)
    assert [len(d) for d in dialogues] == [3, 2] and not anomalies


def test_a_label_contradicting_its_votes_warns_or_stops(tmp_path, monkeypatch):
    from parlai.utils import logging as parlai_logging

    warned = []
    monkeypatch.setattr(parlai_logging, 'warning', warned.append)
    write_sample('prosocial', tmp_path)
    path = hf_file(tmp_path, set_field(6, 'safety_label', '__casual__'))
    line = f'{path}: 1 anomaly: 1 x safety_label contradicting its votes (A.4) (line 6)'
    with pytest.raises(ProsocialDataError) as info:
        create_teacher(
            'prosocial', 'train:ordered', prosocial_data_dir=str(tmp_path),
            prosocial_anomalies='error',
        )
    assert str(info.value) == line + ' (stopped by --prosocial-anomalies error)'
    teacher = create_teacher('prosocial:safety', 'train:ordered', prosocial_data_dir=str(tmp_path))
    labels = [m['labels'][0] for m in one_epoch(teacher)]
    assert labels[5] == '__casual__'  # used as released: not repaired
    # one summary line, however many teacher copies
    assert warned == [line + ' (used as they are; --prosocial-anomalies error stops on them)']


@pytest.mark.parametrize(
    'task, field, value, wanted',
    [
        (
            'prosocial:rot_response',
            'response',
            'Stop. __endrots__ please.',
            "It's rude to insult other people's food. __endrots__ Stop. _endrots_ please.",
        ),
        (
            'prosocial:rot_response',
            'rots',
            ['A rot __endrots__ inside', ''],
            "A rot _endrots_ inside __endrots__ That might have hurt her feelings. What made you "
            'say it?',
        ),
        ('prosocial:rot_response', 'rots', [''], 'That might have hurt her feelings. What made '
         'you say it?'),
        (
            'prosocial:safety',
            'rots',
            ['__casual__ is what it is', 'x ___endrots___ y'],
            '__possibly_needs_caution__ _casual_ is what it is, x _endrots_ y',
        ),
        ('prosocial', 'response', '__casual__', '_casual_'),
    ],
)
def test_markers_never_reach_a_target_unescaped(tmp_path, task, field, value, wanted):
    write_sample('prosocial', tmp_path)
    hf_file(tmp_path, set_field(4, field, value))  # line 4: dialogue 1, turn 0
    teacher = create_teacher(task, 'train:ordered', prosocial_data_dir=str(tmp_path))
    messages = one_epoch(teacher)
    (message,) = [m for m in messages if m['dialogue_id'] == 1 and m['response_id'] == 0]
    assert message['labels'] == [wanted]
    assert message[field] == value  # the annotation field keeps the released value
    label = message['labels'][0]
    if task == 'prosocial:rot_response':
        assert label.count('__endrots__') <= 1 and not label.startswith('__endrots__')


# --- Topical-Chat ------------------------------------------------------------------------------


def topical_file(tmp_path, text, name='valid_freq.json', binary=False):
    path = tmp_path / name
    if binary:
        path.write_bytes(text)
    else:
        path.write_text(text, encoding='utf-8')
    return str(path)


def topical_text():
    return json.dumps(read_sample_file('topical_chat', 'valid_freq.json'), indent=1)


def test_topical_chat_repeated_conversation_id(tmp_path):
    data = read_sample_file('topical_chat', 'valid_freq.json')
    first_id = next(iter(data))
    body = json.dumps(data[first_id])
    text = '{' + f'"{first_id}": {body}, "{first_id}": {body}' + '}'
    path = topical_file(tmp_path, text)
    assert error_of(topical_data.read_conversations, path) == (
        f"{path}: conversation {first_id} appears twice (the file's object repeats the id); "
        'expected each conversation id once'
    )


def test_topical_chat_repeated_field_in_a_turn(tmp_path):
    text = topical_text()
    at = text.index('"message"')
    path = topical_file(tmp_path, text[:at] + '"agent": "agent_2", ' + text[at:])
    first_id = next(iter(read_sample_file('topical_chat', 'valid_freq.json')))
    assert error_of(topical_data.read_conversations, path) == (
        f'{path}: conversation {first_id}, turn 0: field "agent" appears twice in one JSON '
        'object; expected each field once'
    )


@pytest.mark.parametrize(
    'content, message',
    [
        (b'{}', '{p}: no conversations in the file; expected at least one'),
        (b'\xef\xbb\xbf{}', 'BOM'),
        (b'{"t_1": "caf\xe9"}', '{p}: not UTF-8 text (invalid continuation byte at byte 12), so '
         'not a JSON file'),
        (b'{"t_1": {"content": [\n{"message": ' + DEEP.encode() + b'}]}}',
         '{p}: line 2: field "message" ' + TOO_DEEP.format(n=100004)),
        (b'{"t_1": {"content": [\n{"message": "a \\udc00 b"}]}}',
         '{p}: line 2: field "message" ' + LONE.format(escape='\\udc00')),
    ],
    ids=['empty object', 'BOM', 'not UTF-8', 'nested past the recursion limit',
         'a lone surrogate'],
)
def test_topical_chat_whole_file(tmp_path, content, message):
    path = topical_file(tmp_path, content, binary=True)
    expected = local_data.bom_message(path) if message == 'BOM' else message.format(p=path)
    assert error_of(topical_data.read_conversations, path) == expected


# --- ToxiChat ----------------------------------------------------------------------------------


def toxichat_file(tmp_path, threads):
    path = str(tmp_path / 'test.jsonl')
    with open(path, 'w', encoding='utf-8') as f:
        f.writelines(json.dumps(thread) + '\n' for thread in threads)
    return path


def test_toxichat_repeated_thread(tmp_path):
    threads = list(read_sample_file('toxichat', 'test.jsonl'))
    path = toxichat_file(tmp_path, threads + [threads[1]])
    assert error_of(toxichat_data.read_threads, path) == (
        f'{path}: line {len(threads) + 1}: field "reddit_thread" repeats the thread of line 2 '
        'turn for turn: expected each thread once'
    )


@pytest.mark.parametrize(
    'value, message',
    [
        (DEEP, '{p}: line 2: field "text" ' + TOO_DEEP.format(n=100003)),
        ('"\\ud800\\u0041"', '{p}: line 2: field "text" ' + LONE.format(escape='\\ud800')),
    ],
    ids=['nested past the recursion limit', 'a lone surrogate'],
)
def test_toxichat_what_json_reads_but_no_row_holds(tmp_path, value, message):
    threads = list(read_sample_file('toxichat', 'test.jsonl'))
    path = toxichat_file(tmp_path, threads)
    lines = open(path, encoding='utf-8').read().splitlines(keepends=True)
    lines[1] = lines[1].replace('"text": ', f'"text": {value}, "x": ', 1)
    open(path, 'w', encoding='utf-8').write(''.join(lines))
    assert error_of(toxichat_data.read_threads, path) == message.format(p=path)


def test_toxichat_bom_and_empty(tmp_path):
    path = toxichat_file(tmp_path, read_sample_file('toxichat', 'test.jsonl'))
    raw = open(path, 'rb').read()
    open(path, 'wb').write(b'\xef\xbb\xbf' + raw)
    assert error_of(toxichat_data.read_threads, path) == local_data.bom_message(path)
    open(path, 'w').write('\n\n')
    assert error_of(toxichat_data.read_threads, path) == f'{path}: the file is empty'


# --- the bad-word list --------------------------------------------------------------------------


def bad_words_text():
    header = ','.join(
        ['word', 'in list of Naughty/Bad Words', 'sexual / body', 'slur', 'notes',
         'categorization']
    )
    rows = [
        'arse,1,,,,offensive-not-minority',
        'twinkie,1,,1,"asian person who acts ""too white""",offensive-minority-reference',
        'bitch,1,,,,offensive-not-minority',
        'wom[ae]n,0,,1,,harmless-minority',
    ]
    return header + '\n' + '\n'.join(rows)


@pytest.mark.parametrize(
    'cut, message',
    [
        (
            lambda t: t[: t.index('too white') + 4],
            '{p}: line 3: not CSV (unexpected end of data); is the file cut short?',
        ),
        (
            lambda t: t[: -len('ority')],
            "{p}: line 5: field \"categorization\" is 'harmless-min', expected one of "
            'offensive-not-minority, offensive-minority-reference, harmless-minority; is the '
            'file cut short?',
        ),
        (
            lambda t: t[: t.index(',,1,,harmless')],
            '{p}: line 5: 2 fields, the header has 6 columns: expected 6; is the file cut short?',
        ),
    ],
    ids=['inside a quoted field', 'in the last field', 'fields missing'],
)
def test_bad_word_list_cut_short(tmp_path, cut, message):
    path = tmp_path / 'words.csv'
    path.write_text(bad_words_text(), encoding='utf-8')
    assert badwords.read_bad_words(str(path)) == ['arse', 'twinkie', 'bitch']
    path.write_text(cut(bad_words_text()), encoding='utf-8')
    assert error_of(badwords.read_bad_words, path) == message.format(p=path)


# --- SODA ----------------------------------------------------------------------------------------


def soda_file(tmp_path, rows, name='train.parquet'):
    path = str(tmp_path / name)
    if rows:
        pq.write_table(pa.Table.from_pylist(rows, schema=soda_data.SCHEMA), path, row_group_size=2)
    else:
        pq.write_table(soda_data.SCHEMA.empty_table(), path)
    return path


def test_soda_zero_rows(tmp_path):
    path = soda_file(tmp_path, [])
    with pytest.raises(ProsocialDataError) as info:
        soda_data.load_index(path, str(tmp_path / 'cache'))
    assert str(info.value) == f'{path}: no rows in the file; expected at least one dialogue'


@pytest.mark.parametrize('chunk_rows', [0, -5])
def test_soda_chunk_rows_refused(tmp_path, chunk_rows):
    path = soda_file(tmp_path, read_sample_file('soda', 'train.parquet'))
    with pytest.raises(ProsocialOptionError) as info:
        soda_data.load_index(path, str(tmp_path / 'cache'), chunk_rows)
    assert str(info.value) == f'--soda-chunk-rows is {chunk_rows}: expected a whole number >= 1'


def test_soda_cache_dir_that_is_a_file(tmp_path):
    path = soda_file(tmp_path, read_sample_file('soda', 'train.parquet'))
    (tmp_path / 'cache').write_text('')
    with pytest.raises(ProsocialOptionError) as info:
        soda_data.load_index(path, str(tmp_path / 'cache'))
    assert str(info.value) == (
        f'--soda-cache-dir {tmp_path / "cache"}: cannot be used as the cache directory (File '
        'exists); expected a directory that can be written'
    )


def test_soda_corrupted_data_page(tmp_path):
    rows = read_sample_file('soda', 'train.parquet')
    path = soda_file(tmp_path, rows)
    raw = bytearray(open(path, 'rb').read())
    metadata = pq.ParquetFile(path).metadata
    column = metadata.row_group(0).column(list(soda_data.COLUMNS).index('narrative'))
    start = column.data_page_offset
    for i in range(start + 8, start + 40):
        raw[i] ^= 0xFF
    open(path, 'wb').write(bytes(raw))
    with pytest.raises(ProsocialDataError) as info:
        soda_data.load_index(path, str(tmp_path / 'cache'))
    message = str(info.value)
    assert message.startswith(f'{path}: chunk 0: cannot be read (')
    assert message.endswith('); is the file corrupted or cut short?') and '\n' not in message


def test_soda_separators_counted_and_escaped(tmp_path):
    rows = [dict(row) for row in read_sample_file('soda', 'valid.parquet')]
    rows[0]['dialogue'] = list(rows[0]['dialogue'])
    rows[0]['dialogue'][0] = 'Hi <turn> there'
    rows[0]['dialogue'][1] = ' '
    directory = tmp_path / 'soda'
    directory.mkdir()
    soda_file(directory, rows, 'valid.parquet')
    index = soda_data.load_index(str(directory / 'valid.parquet'), str(tmp_path / 'cache'))
    assert index['anomalies'] == {
        'empty utterance': [1, [0]],
        '<sep>/<turn> inside an utterance': [1, [0]],
    }
    teacher = create_teacher(
        'soda', 'valid', soda_data_dir=str(directory), soda_cache_dir=str(tmp_path / 'cache')
    )
    messages = one_epoch(teacher)
    assert messages[0]['eval_labels'] == ['Hi (turn) there']
    assert messages[1]['text'].endswith(' <sep> Hi (turn) there')
    assert messages[1]['eval_labels'] == [' ']  # an empty utterance is kept, counted
    with pytest.raises(ProsocialDataError) as info:
        create_teacher(
            'soda', 'valid', soda_data_dir=str(directory),
            soda_cache_dir=str(tmp_path / 'cache'), soda_anomalies='error',
        )
    path = directory / 'valid.parquet'
    assert str(info.value) == (
        f'{path}: 2 anomalies: 1 x <sep>/<turn> inside an utterance (row 0); 1 x empty utterance '
        '(row 0) (stopped by --soda-anomalies error)'
    )


# --- options -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    'task, weights, message',
    [
        (
            'prosocial,prosocial:safety',
            '1,2,3',
            '--multitask-weights 1,2,3: 3 weights for 2 tasks (prosocial,prosocial:safety); '
            'expected one weight per task, or "stochastic"',
        ),
        (
            'prosocial,prosocial:safety',
            '1,-1',
            '--multitask-weights 1,-1: a negative weight (-1); expected every weight >= 0',
        ),
        (
            'prosocial,prosocial:safety',
            '0,0',
            '--multitask-weights 0,0: all weights are 0; expected at least one above 0',
        ),
        (
            'prosocial',
            '0',
            '--multitask-weights 0: all weights are 0; expected at least one above 0',
        ),
    ],
)
def test_multitask_weights_refused_at_parse(tmp_path, task, weights, message):
    from parlai.core.params import ParlaiParser

    with pytest.raises(ProsocialOptionError) as info:
        ParlaiParser(True, True).parse_args(
            ['-t', task, '-m', 'repeat_label', '--multitask-weights', weights]
        )
    assert str(info.value) == message


@pytest.mark.parametrize('weights', ['stochastic', '3,1', '0,1', '1'])
def test_multitask_weights_accepted(weights):
    from parlai.core.params import ParlaiParser

    opt = ParlaiParser(True, True).parse_args(
        ['-t', 'prosocial,prosocial:safety', '-m', 'repeat_label', '-mtw', weights]
    )
    assert opt['multitask_weights'] in ('stochastic', [1], (3.0, 1.0), (0.0, 1.0), (1.0,))


def test_empty_data_dir_option_and_env(tmp_path, monkeypatch):
    expected = (
        "--prosocial-data-dir is empty ('', from the command line or $PROSOCIAL_DATA_DIR): "
        'expected the directory holding the data files; unset $PROSOCIAL_DATA_DIR and leave the '
        'option out to download them'
    )
    monkeypatch.setenv('PROSOCIAL_DATA_DIR', '')
    with pytest.raises(ProsocialOptionError) as info:
        create_teacher('prosocial', 'train', datapath=str(tmp_path))
    assert str(info.value) == expected
    monkeypatch.delenv('PROSOCIAL_DATA_DIR')
    from parlai.core.params import ParlaiParser

    with pytest.raises(ProsocialOptionError) as info:
        ParlaiParser(True, True).parse_args(['-t', 'prosocial', '--prosocial-data-dir', ''])
    assert str(info.value) == expected
    assert not (tmp_path / 'prosocial_dialog').exists()  # nothing was downloaded


def test_empty_data_dir_in_an_opt_never_downloads(tmp_path):
    from parlai_prosocial.tasks.prosocial import build

    opt = {'datapath': str(tmp_path), 'datatype': 'train', 'prosocial_data_dir': ''}
    with pytest.raises(ProsocialOptionError) as info:
        build.data_dir(opt)
    assert str(info.value) == (
        "--prosocial-data-dir is '': expected the directory holding the data files (leave the "
        'option out to download them)'
    )


@pytest.mark.parametrize(
    'edit, message',
    [
        (set_field(2, 'context', 'a lone \udc00 surrogate'),
         '{p}: line 2: field "context" ' + LONE.format(escape='\\udc00')),
        (line_edit(5, lambda line: line.replace('"rots": ', f'"rots": {DEEP}, "x": ', 1)),
         '{p}: line 5: field "rots" ' + TOO_DEEP.format(n=100001)),
    ],
    ids=['a lone surrogate (it crashed the display)', 'nested past the recursion limit'],
)
def test_display_data_stops_on_json_parlai_cannot_take(tmp_path, edit, message):
    from parlai_prosocial.testing import parlai_in_process

    write_sample('prosocial', tmp_path)
    path = hf_file(tmp_path, edit)
    with pytest.raises(ProsocialDataError) as info:
        parlai_in_process(['display_data', '-t', 'prosocial', '--prosocial-data-dir', tmp_path],
                          cwd=str(tmp_path))
    assert str(info.value) == message.format(p=path)


# --- every split a command uses is checked before it starts -------------------------------------


def test_train_model_checks_valid_and_test_when_the_teacher_is_created(tmp_path):
    write_sample('prosocial', tmp_path)
    (tmp_path / 'valid.json').write_text('{"broken": ')
    opt_keys = {'validation_every_n_secs': -1}
    # display_data-like commands read only their split
    create_teacher('prosocial', 'train:ordered', prosocial_data_dir=str(tmp_path))
    from parlai.core.teachers import create_task_agent_from_taskname
    from parlai_prosocial.testing import teacher_opt

    opt = teacher_opt('prosocial', 'train', prosocial_data_dir=str(tmp_path))
    opt.update(opt_keys)  # what train_model's parser adds
    with pytest.raises(ProsocialDataError) as info:
        create_task_agent_from_taskname(opt)
    assert str(info.value).startswith(f'{tmp_path / "valid.json"}: line 1: not valid JSON')


# --- the other tasks' anomalies -------------------------------------------------------------------


def test_topical_chat_empty_message_is_counted(tmp_path):
    data = json.loads(json.dumps(read_sample_file('topical_chat', 'valid_freq.json')))
    first_id = next(iter(data))
    data[first_id]['content'][1]['message'] = ' \n '
    path = topical_file(tmp_path, json.dumps(data))
    conversations, anomalies = topical_data.read_file(path)
    assert len(conversations) == len(data)  # kept
    assert anomalies.summary(path) == (
        f'{path}: 1 anomaly: 1 x empty message (conversation {first_id}, turn 1)'
    )


def test_toxichat_empty_text_is_counted(tmp_path):
    threads = json.loads(json.dumps(read_sample_file('toxichat', 'test.jsonl')))
    threads[0]['final_gpt3_response']['text'] = '   '
    path = toxichat_file(tmp_path, threads)
    read, anomalies = toxichat_data.read_file(path)
    turn_id = threads[0]['final_gpt3_response']['turn_id']
    assert len(read) == len(threads)
    assert anomalies.summary(path) == (
        f'{path}: 1 anomaly: 1 x empty text (line 1: turn {turn_id} (gpt3))'
    )


def test_soda_separator_in_the_narrative_is_counted_and_escaped(tmp_path):
    rows = [dict(row) for row in read_sample_file('soda', 'valid.parquet')]
    rows[1]['narrative'] = 'A story <sep> with a separator.'
    directory = tmp_path / 'soda'
    directory.mkdir()
    soda_file(directory, rows, 'valid.parquet')
    index = soda_data.load_index(str(directory / 'valid.parquet'), str(tmp_path / 'cache'))
    assert index['anomalies'] == {'<sep>/<turn> inside the narrative': [1, [1]]}
    teacher = create_teacher(
        'soda', 'valid', soda_data_dir=str(directory), soda_cache_dir=str(tmp_path / 'cache'),
        cosmo_drop_narrative=0.0, cosmo_drop_instruction=0.0,
    )
    texts = [m['text'] for m in one_epoch(teacher) if m['soda_row'] == 1]
    assert texts and all(t.startswith('A story (sep) with a separator. <sep> ') for t in texts)


@pytest.mark.parametrize(
    'evaltask, checked',
    [
        (None, True),
        ('prosocial:safety', True),  # another teacher of the same files
        ('convai2', False),  # the evaluation reads other files
    ],
)
def test_train_model_with_an_evaltask(tmp_path, evaltask, checked):
    from parlai.core.teachers import create_task_agent_from_taskname

    from parlai_prosocial.testing import teacher_opt

    write_sample('prosocial', tmp_path)
    (tmp_path / 'test.json').write_text('')
    opt = teacher_opt('prosocial', 'train', prosocial_data_dir=str(tmp_path))
    opt.update({'validation_every_n_secs': -1, 'evaltask': evaltask})
    if checked:
        with pytest.raises(ProsocialDataError) as info:
            create_task_agent_from_taskname(opt)
        assert str(info.value) == f'{tmp_path / "test.json"}: the file is empty'
    else:
        create_task_agent_from_taskname(opt)
