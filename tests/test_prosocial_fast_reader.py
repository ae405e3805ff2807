"""
The fast path of the ProsocialDialog reader (issue 11 §4) is the strict reader, only faster: on
every file it gives the same dialogues, the same anomalies and the same error message as reading
row by row (``read_file(path, fast=False)``), and it is really taken on a valid file.
"""

import json

import pytest

from parlai_prosocial.errors import ProsocialDataError
from parlai_prosocial.tasks import local_data
from parlai_prosocial.tasks.prosocial import data as prosocial_data
from parlai_prosocial.tasks.prosocial.sample import SAMPLE, hf_rows

from .test_readers_bad_input import hf_cases, set_field


def rows():
    return [dict(row) for row in hf_rows(SAMPLE['train'])]


def lines_of(edited_rows):
    return [json.dumps(row, ensure_ascii=False) + '\n' for row in edited_rows]


def outcome(path, fast):
    try:
        dialogues, anomalies = prosocial_data.read_file(str(path), fast=fast)
    except ProsocialDataError as e:
        return 'error', str(e)
    return 'read', dialogues, anomalies.summary(str(path))


def takes_the_fast_path(path):
    parsed = local_data.fast_json_lines(str(path))
    return parsed is not None and prosocial_data._fast_dialogues_from_hf_rows(parsed) is not None


def edited(edit):
    def text():
        changed = rows()
        edit(changed)
        return ''.join(lines_of(changed))

    return text


def with_lines(change):
    def text():
        lines = lines_of(rows())
        change(lines)
        return ''.join(lines)

    return text


def anomalies(changed):
    changed[5]['safety_label'] = '__casual__'  # contradicts its votes
    changed[3]['response'] = '  '
    changed[6]['rots'] = ['', 'ok']
    changed[1]['response'] = 'no __endrots__ here'
    changed[2]['rots'] = ['a _', '_ b']  # no marker start across two RoTs


def spaced_repeated_key(lines):
    # "rots" twice, the second time with a space before its colon: the count alone would miss it
    lines[1] = '{"rots" : null, ' + lines[1][1:]


def quote_colon_in_a_text(lines):
    # '":' inside a string adds to the count: the fast path declines, the strict one reads it
    row = rows()[2]
    row['response'] = 'she said "no": twice'
    lines[2] = json.dumps(row) + '\n'


#: files both paths read (the fast one should take these), as name -> text
VALID = {
    'the sample': with_lines(lambda lines: None),
    'anomalies': edited(anomalies),
    'rots null': edited(set_field(2, 'rots', None)),
    'no final newline': with_lines(lambda lines: lines.__setitem__(-1, lines[-1].rstrip('\n'))),
    'line separators inside a text': edited(set_field(1, 'context', 'a\u2028b\u2029c\x85d')),
    'a repeated dialogue (found after reading)': edited(
        lambda r: r.append(dict(r[5], dialogue_id=9))
    ),
}

#: files the fast path must hand to the strict reader, as name -> text
DECLINED = {
    'a blank line': with_lines(lambda lines: lines.insert(3, '\n')),
    'two rows on one line': with_lines(lambda lines: lines.__setitem__(
        0, lines[0].rstrip('\n') + ', ' + lines[0])),
    'a row over two lines': with_lines(lambda lines: lines.__setitem__(
        0, lines[0].replace(', "response"', ',\n"response"', 1))),
    'CRLF line ends': with_lines(lambda lines: lines.__setitem__(
        slice(None), [line.replace('\n', '\r\n') for line in lines])),
    'a row that is a list': with_lines(lambda lines: lines.__setitem__(2, '[1, 2]\n')),
    'an extra field': edited(set_field(2, 'note', 'x')),
    'a bool dialogue_id': edited(set_field(1, 'dialogue_id', True)),
    'a float response_id': edited(set_field(2, 'response_id', 1.0)),
    'a label that is a list': edited(set_field(2, 'safety_label', ['__casual__'])),
    'a RoT that is a number': edited(set_field(2, 'rots', ['ok', 3])),
    'a reason that is null': edited(set_field(2, 'safety_annotation_reasons', [None])),
    'rows of a dialogue out of order': edited(lambda r: r.__setitem__(slice(0, 2), r[1::-1])),
    'a repeated key with a space': with_lines(spaced_repeated_key),
    'a quote and colon inside a text': with_lines(quote_colon_in_a_text),
    'not UTF-8': None,  # written as bytes below
}
#: the strict reader's table of bad JSON Lines files (tests/test_readers_bad_input.py); the
#: repeated turns and dialogues are found after either path has read the rows
BAD = {name: edited(edit) for name, edit, _ in hf_cases()}


def write(tmp_path, name, text):
    path = tmp_path / 'train.json'
    if text is None:
        path.write_bytes(b''.join(line.encode() for line in lines_of(rows())[:2]) + b'{"\xff"}\n')
    else:
        path.write_text(text(), encoding='utf-8', newline='')
    return path


@pytest.mark.parametrize('name', sorted(VALID))
def test_fast_path_reads_what_the_strict_reader_reads(tmp_path, name):
    path = write(tmp_path, name, VALID[name])
    assert takes_the_fast_path(path)
    assert outcome(path, fast=True) == outcome(path, fast=False)


@pytest.mark.parametrize('name', sorted(DECLINED))
def test_fast_path_leaves_everything_else_to_the_strict_reader(tmp_path, name):
    path = write(tmp_path, name, DECLINED[name])
    assert not takes_the_fast_path(path)
    assert outcome(path, fast=True) == outcome(path, fast=False)


@pytest.mark.parametrize('name', sorted(BAD))
def test_bad_files_give_the_strict_readers_error(tmp_path, name):
    path = write(tmp_path, name, BAD[name])
    assert outcome(path, fast=True) == outcome(path, fast=False)
    assert outcome(path, fast=True)[0] == 'error'


def test_quote_and_colon_inside_a_text_is_read(tmp_path):
    path = write(tmp_path, 'x', with_lines(quote_colon_in_a_text))
    kind, dialogues, _ = outcome(path, fast=True)
    assert kind == 'read' and dialogues[0][2]['response'] == 'she said "no": twice'


def test_repeated_key_with_a_space_is_an_error(tmp_path):
    path = write(tmp_path, 'x', with_lines(spaced_repeated_key))
    assert outcome(path, fast=True) == (
        'error',
        f'{path}: line 2: field "rots" appears twice in one JSON object; expected each field once',
    )
