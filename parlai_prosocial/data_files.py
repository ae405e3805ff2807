"""
What every task of this plugin does the same way with its files: a ``--<task>-data-dir`` option
(defaulting to an environment variable) that replaces the download, one parse of a file shared
by every teacher copy, JSON read strictly (a field repeated in one object, a byte order mark, a
file cut short, a lone UTF-16 surrogate and nesting past the recursion limit are errors naming
the file and line) by one reader per form, :func:`json_lines` for JSON Lines and
:func:`load_json_file` for one document, rows checked against a table of their
fields (:func:`checked_fields`), soft anomalies counted and reported in one line, and options
checked where they are parsed.
"""

import contextlib
import functools
import gc
import json
import os
import re

from parlai_prosocial.errors import ProsocialOptionError

BOM = b'\xef\xbb\xbf'


def data_dir_env(task):
    """
    The environment variable that is the default of ``--<task>-data-dir`` (``prosocial`` ->
    ``PROSOCIAL_DATA_DIR``): one rule, so the offline data and the tests find every task's folder.
    """
    return f'{task.upper()}_DATA_DIR'


def data_dir_option_type(option, env_var):
    """
    The argparse ``type`` of a ``--<task>-data-dir`` option: an empty value (``--x-data-dir ''``,
    or the environment variable set but empty) is an error, not "download instead".
    """

    def data_dir(value):
        if not value.strip():
            raise ProsocialOptionError(
                f'{option} is empty ({value!r}, from the command line or ${env_var}): expected '
                f'the directory holding the data files; unset ${env_var} and leave the option '
                'out to download them'
            )
        if os.path.exists(value) and not os.path.isdir(value):
            raise ProsocialOptionError(
                f'{option} {value} (from the command line or ${env_var}) is a file: expected '
                'the directory holding the data files'
            )
        return value

    data_dir.__name__ = 'directory'
    return data_dir


def add_data_dir_argument(group, option, env_var, files):
    """
    ``option`` (e.g. ``--prosocial-data-dir``): read ``files`` from a local directory.
    """
    group.add_argument(
        option,
        type=data_dir_option_type(option, env_var),
        default=os.environ.get(env_var),
        help=f'read {files} from this directory instead of downloading them; '
        f'default: ${env_var}',
    )


def positive_int_option_type(option):
    """
    The argparse ``type`` of an option that must be a whole number >= 1 (chunk sizes).
    """

    def positive_int(value):
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = None
        if number is None or number < 1:
            raise ProsocialOptionError(f'{option} is {value!r}: expected a whole number >= 1')
        return number

    positive_int.__name__ = 'int'
    return positive_int


def local_dir_or_build(opt, key, build):
    """
    The directory given by ``opt[key]``, else (None) the one ``build(opt)`` downloads and returns.
    An empty value (e.g. from an opt file) is an error, never a silent download.
    """
    value = opt.get(key)
    if value is None:
        return build(opt)
    if not isinstance(value, str) or not value.strip():
        raise ProsocialOptionError(
            f'--{key.replace("_", "-")} is {value!r}: expected the directory holding the data '
            'files (leave the option out to download them)'
        )
    return value


def create_agents(opt):
    """
    A task module's ``create_agents``: the teacher ParlAI would build anyway. ParlAI's loader
    (``parlai.core.worlds._create_task_agents``) calls ``create_agents`` first and, when a module
    has none, builds the teacher inside its ``except AttributeError``: every error of the teacher
    then came with that ``AttributeError`` and "During handling of the above exception" in front
    of it. A module that defines (or imports) this one avoids it without patching ParlAI.
    """
    from parlai.core.teachers import create_task_agent_from_taskname

    return create_task_agent_from_taskname(opt)


# --- strict JSON ---------------------------------------------------------------------------------


class _RepeatedField(Exception):
    def __init__(self, key):
        self.key = key


class DuplicateKeysDict(dict):
    """
    A JSON object in which a field appeared more than once (the last value is kept, as ``json``
    does); :func:`check_object` turns it into an error naming where it is.
    """

    duplicate = None


def _pairs_marking_duplicates(pairs):
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen = set()
    for key, _ in pairs:
        if key in seen:
            break
        seen.add(key)
    marked = DuplicateKeysDict(obj)
    marked.duplicate = key
    return marked


def _pairs_refusing_duplicates(pairs):
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedField(key)
            seen.add(key)
    return obj


def repeated_field_message(key):
    return f'field "{key}" appears twice in one JSON object; expected each field once'


def check_object(obj, where, error):
    """
    Raise ``error`` if ``obj`` (parsed by :func:`load_json_file`) repeated one of its fields.
    """
    key = getattr(obj, 'duplicate', None)
    if key is not None:
        raise error(f'{where}: {repeated_field_message(key)}')
    return obj


def bom_message(path):
    return (
        f'{path}: starts with a UTF-8 byte order mark (BOM); expected UTF-8 JSON without one '
        '(save the file as plain UTF-8)'
    )


def load_json_file(path, error):
    """
    One whole JSON document. Objects that repeat a field are :class:`DuplicateKeysDict` (the
    readers report them with the row, :func:`check_object`); not UTF-8, a BOM, bad JSON, a lone
    UTF-16 surrogate in a string or nesting past the recursion limit raise ``error`` naming the
    file and line (and the field).
    """
    with open(path, 'rb') as f:
        raw = f.read()
    if raw.startswith(BOM):
        raise error(bom_message(path))
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError as e:
        raise error(
            f'{path}: not UTF-8 text ({e.reason} at byte {e.start}), so not a JSON file'
        ) from None
    try:
        data = json.loads(text, object_pairs_hook=_pairs_marking_duplicates)
    except json.JSONDecodeError as e:
        ending = e.pos >= len(text.rstrip())
        hint = '; the file ends too early: is it truncated?' if ending else ''
        raise error(
            f'{path}: line {e.lineno}: not valid JSON ({e.msg} at column {e.colno}){hint}'
        ) from None
    except RecursionError:
        offset, message = _too_deep(text)
        raise error(f'{path}: line {text.count(chr(10), 0, offset) + 1}: {message}') from None
    if _may_hold_surrogate(raw):
        _refuse_lone_surrogate(
            text, data, lambda offset: f'{path}: line {text.count(chr(10), 0, offset) + 1}', error
        )
    return data


# --- what json reads but must not reach ParlAI: nesting past the recursion limit, lone surrogates


#: the start of a \\u escape of a UTF-16 surrogate (\\ud800-\\udfff, hex in either case): only
#: a file (or line) holding one is searched for lone ones; the others pay one scan of their bytes
#: (about 5 % of ``json.loads``; the typed decoder of :func:`json_lines` refuses lone surrogates
#: itself, so its lines pay nothing)
_SURROGATE_ESCAPE_START = re.compile(rb'\\u[dD][89a-fA-F]')


def _may_hold_surrogate(raw):
    return _SURROGATE_ESCAPE_START.search(raw) is not None


#: a \u escape of a surrogate (group 2: its hex digits) preceded by an even number of
#: backslashes, so an escape and not an escaped backslash followed by "u"
_SURROGATE_ESCAPE = re.compile(r'(?<!\\)((?:\\\\)*)\\u([dD][89a-fA-F][0-9a-fA-F]{2})')


def _lone_surrogate_offset(text):
    """
    The offset in JSON ``text`` of the first \\u escape of a surrogate that is not half of a
    pair (a high one, \\ud800-\\udbff, right before a low one), or None.
    """
    pending = None  # (offset, end) of a high surrogate waiting for its low half
    for match in _SURROGATE_ESCAPE.finditer(text):
        start = match.start(2) - 2
        if int(match.group(2), 16) < 0xDC00:
            if pending is not None:
                return pending[0]
            pending = (start, match.end())
        elif pending is not None and pending[1] == start:
            pending = None
        else:
            return start
    return pending[0] if pending is not None else None


def _has_surrogate(text):
    try:
        text.encode('utf-8')
    except UnicodeEncodeError:
        return True
    return False


def _surrogate_field(value):
    """
    ``(field, text)``: the first string of a parsed JSON ``value`` (a field name or a value, in
    document order) holding a lone surrogate, and the name of the field it is in (None at the
    top). Iterative: ``value`` may be nested nearly as deep as the recursion limit.
    """
    stack = [(value, None)]
    while stack:
        item, field = stack.pop()
        if isinstance(item, str):
            if _has_surrogate(item):
                return field, item
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                stack.append((child, key))
                stack.append((key, key))
        elif isinstance(item, list):
            stack.extend((child, field) for child in reversed(item))
    return None, None


def _refuse_lone_surrogate(text, value, where_of, error):
    """
    Raise ``error`` if JSON ``text`` (parsed: ``value``) writes a lone UTF-16 surrogate: ``json``
    reads one (msgspec does not), but it is not a character, and ParlAI fails on it far from the
    data (printing an example, saving the dictionary). ``where_of(offset)``: where it is.
    """
    offset = _lone_surrogate_offset(text)
    if offset is None:
        return
    field, string = _surrogate_field(value)
    name = 'a string' if field is None else f'field "{_printable(field)}"'
    escape = text[offset : offset + 6]
    raise error(
        f'{where_of(offset)}: {name} holds a lone UTF-16 surrogate ({escape} without its other '
        'half), which is no character; expected text (a surrogate escape only as half of a pair)'
    )


def _printable(text):
    return text.encode('utf-8', 'backslashreplace').decode('utf-8')


#: a JSON string (group 1: the colon after it, if it is a field name) or a bracket
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"(\s*:)?|[\[\]{}]')


def _too_deep(text):
    """
    ``(offset, message)`` of JSON ``text`` that ``json`` could not read for its nesting (a
    ``RecursionError``): where its deepest nesting is first reached, the field it is in, and how
    deep it goes. Only on that error, so a plain scan of the text.
    """
    depth = deepest = offset = 0
    field = deepest_field = None
    fields = []
    for match in _JSON_TOKEN.finditer(text):
        token = match.group(0)
        if token in '[{':
            fields.append(field)
            depth += 1
            if depth > deepest:
                deepest, offset, deepest_field = depth, match.start(), field
        elif token in ']}':
            field = fields.pop() if fields else None
            depth = max(depth - 1, 0)
        elif match.group(1):
            try:
                field = json.loads(token[: token.rindex('"') + 1])
            except ValueError:
                field = token
    name = 'the value' if deepest_field is None else f'field "{_printable(deepest_field)}"'
    return offset, (
        f'{name} nests arrays and objects {deepest} levels deep, past Python\'s recursion limit; '
        'expected the few levels of the format'
    )


@contextlib.contextmanager
def gc_paused():
    """
    The cyclic garbage collector off for the block: a reader builds hundreds of thousands of
    dicts and lists that all stay alive, and the collections their allocation triggers would scan
    them again and again (a third of the time of reading ProsocialDialog's training set) for no
    garbage. Plain JSON data holds no reference cycles.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # what the block built goes straight to the oldest generation, which is collected only
        # when it has grown by a quarter: otherwise the next young collection would scan it all
        gc.freeze()
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def parsed_once_per_file(read):
    """
    ``read(path)``, remembered per (path, modification time, size): every teacher copy (batch
    workers, valid/test teachers) shares one parse, and an edited file is read again.
    """

    @functools.lru_cache(maxsize=8)
    def cached(path, mtime_ns, size):
        with gc_paused():
            return read(path)

    @functools.wraps(read)
    def load(path):
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            return read(path)  # raises the reader's own error, which names the missing file
        return cached(path, stat.st_mtime_ns, stat.st_size)

    return load


def checked_fields(obj, fields, where, error, shown=repr):
    """
    ``obj`` (a parsed JSON value) as an object holding ``fields`` (name -> ``(type, wanted)``,
    e.g. :data:`~parlai_prosocial.prosocial_rows.ROW_FIELDS`), each of its type: a dict of those
    fields alone. Otherwise ``error`` names ``where`` and the first field (in the order of
    ``fields``) that is missing or of another type, with its value as ``shown`` (e.g. cut short)
    and what was ``wanted``; a field repeated in the object (:class:`DuplicateKeysDict`) is an
    error too. Other fields are left out.
    """
    import msgspec

    if isinstance(obj, dict) and getattr(obj, 'duplicate', None) is None:
        try:  # every field at once, in C; the error path below says which is wrong
            return msgspec.convert(obj, _typed(fields)[0], strict=True)
        except msgspec.ValidationError:
            pass
    if not isinstance(obj, dict):
        raise error(f'{where}: expected a JSON object, got {type(obj).__name__}')
    check_object(obj, where, error)
    for field, (kind, wanted) in fields.items():
        if field not in obj:
            raise error(f'{where}: missing field "{field}"')
        try:
            msgspec.convert(obj[field], kind, strict=True)
        except (msgspec.ValidationError, RecursionError):
            raise error(
                f'{where}: field "{field}" is {_shown(shown, obj[field])}, expected {wanted}'
            ) from None
    return {field: obj[field] for field in fields}


def _shown(shown, value):
    try:
        return shown(value)
    except RecursionError:  # json read it just below the recursion limit
        return f'a {type(value).__name__} nested too deep to show'


_TYPED = {}


def _typed(fields):
    """
    ``(TypedDict, JSON decoder)`` of ``fields``, made once per table of fields.
    """
    typed = _TYPED.get(id(fields))
    if typed is None or typed[2] is not fields:
        import typing

        import msgspec

        row = typing.TypedDict('Row', {field: kind for field, (kind, _) in fields.items()})
        typed = _TYPED[id(fields)] = (row, msgspec.json.Decoder(row), fields)
    return typed


#: a field name followed by JSON whitespace before its colon (``"a" :``; a line holds no \n)
_SPACED_KEY = re.compile(rb'"[ \t\r]+:')

#: what :func:`_read_line` returns for a line holding only whitespace
_BLANK = object()


def json_lines(path, error, fields=None):
    """
    ``(line number, row)`` for every line of a JSON Lines file that is not blank. A line that is
    not UTF-8 or not JSON, or an object that writes a field twice, raises ``error`` naming the file
    and line (a byte order mark, the file).

    With ``fields`` (as :func:`checked_fields` takes them) every row is an object of those fields,
    each of its type, given with only them; the first line that is not raises ``error`` as
    :func:`checked_fields` words it. Each line is decoded and type-checked in C (msgspec, against
    the types of ``fields``); only a line the decoder refuses is read again by ``json`` and
    explained by :func:`checked_fields`, or taken as ``json`` reads it where the decoder is stricter
    than ``json`` (a NaN), but never with a lone UTF-16 surrogate in a string or nested past the
    recursion limit (errors naming the line and field). The decoder ignores a field the schema
    lacks and keeps the last of a field written twice, so fields are counted
    (:func:`_each_field_once`);
    a line with more is read again by ``json``, which finds a repeated field. When the decoder
    takes every line and the file holds one colon per field of each row, no line has more, and
    the lines are not counted one by one.
    """
    import msgspec

    with open(path, 'rb') as f:
        raw = f.read()
    if raw.startswith(BOM):
        raise error(bom_message(path))
    lines = raw.split(b'\n')
    cut = lines[-1] != b''  # the last line has no newline
    if not cut:
        lines.pop()  # the empty string after the last newline
    rows = None
    if fields is not None:
        decode = _typed(fields)[1].decode
        try:
            rows = list(map(decode, lines))
        # a ValidationError too: a field missing or of another type; a RecursionError: a line
        # nested too deep
        except (msgspec.DecodeError, RecursionError):
            pass  # some line is refused: each is decoded on its own below
        else:
            if raw.count(b':') == len(fields) * len(rows):
                yield from enumerate(rows, start=1)
                return
    for number, line in enumerate(lines, start=1):
        if fields is not None:
            row = rows[number - 1] if rows is not None else _decoded(decode, line)
            if row is not None and _each_field_once(line, len(fields)):
                yield number, row
                continue
        raw_line = line if cut and number == len(lines) else line + b'\n'  # as in the file
        row = _read_line(path, number, raw_line, error)
        if row is _BLANK:
            continue
        if fields is not None:
            row = checked_fields(row, fields, f'{path}: line {number}', error)
        yield number, row


def _decoded(decode, line):
    import msgspec

    try:
        return decode(line)
    except (msgspec.DecodeError, RecursionError):
        return None


def _each_field_once(line, count):
    """
    Whether a line the typed decoder took (so each of its ``count`` fields is there) writes no
    field twice and no other field: each field writes a colon after its name, so ``count``
    colons, or ``count`` times ``":`` (a colon in a string may add to either count, and then the
    line is read again by ``json``) with no name followed by whitespace before its colon.
    """
    return line.count(b':') == count or (
        line.count(b'":') == count and not _SPACED_KEY.search(line)
    )


def _read_line(path, number, raw_line, error):
    """
    One line of a JSON Lines file (with its newline, if it has one) as ``json`` reads it, or
    :data:`_BLANK`; what is wrong with it raises ``error`` naming the line.
    """
    where = f'{path}: line {number}'
    try:
        line = raw_line.decode('utf-8')
    except UnicodeDecodeError as e:
        raise error(f'{where}: not UTF-8 text ({e.reason} at byte {e.start} of the line)') from None
    if not line.strip():
        return _BLANK
    try:
        row = json.loads(line, object_pairs_hook=_pairs_refusing_duplicates)
    except _RepeatedField as e:
        raise error(f'{where}: {repeated_field_message(e.key)}') from None
    except json.JSONDecodeError as e:
        # only the last line of a file can lack its newline
        cut = not raw_line.endswith(b'\n')
        hint = '; the last line is cut off: is the file truncated?' if cut else ''
        raise error(f'{where}: not valid JSON ({e.msg}){hint}') from None
    except RecursionError:
        raise error(f'{where}: {_too_deep(line)[1]}') from None
    if _may_hold_surrogate(raw_line):
        _refuse_lone_surrogate(line, row, lambda offset: where, error)
    return row


# --- soft anomalies ------------------------------------------------------------------------------

#: how many locations of each kind an anomaly summary names
FIRST_LOCATIONS = 3


class Anomalies:
    """
    What may occur in a real release but looks wrong (a label contradicting its votes, an empty
    utterance, one of our markers inside a text): each occurrence is counted under its kind, with
    the first few locations; nothing is dropped or changed for it (markers in targets are
    escaped, see the task's docs). :func:`report_anomalies` shows them in one line.
    """

    def __init__(self):
        self.counts = {}
        self.locations = {}

    def add(self, kind, where):
        self.counts[kind] = self.counts.get(kind, 0) + 1
        locations = self.locations.setdefault(kind, [])
        if len(locations) < FIRST_LOCATIONS:
            locations.append(where)

    def merge(self, kind, count, locations):
        self.counts[kind] = self.counts.get(kind, 0) + count
        mine = self.locations.setdefault(kind, [])
        mine.extend(locations[: FIRST_LOCATIONS - len(mine)])

    def total(self):
        return sum(self.counts.values())

    def __bool__(self):
        return bool(self.counts)

    def summary(self, path):
        """
        ``"<path>: 3 anomalies: 2 x <kind> (line 4, line 9), 1 x <kind> (line 6)"``: one line.
        """
        parts = []
        for kind in sorted(self.counts):
            locations = ', '.join(
                location[len(path) + 2 :] if location.startswith(path + ': ') else location
                for location in self.locations[kind]
            )
            more = ', ...' if self.counts[kind] > len(self.locations[kind]) else ''
            parts.append(f'{self.counts[kind]} x {kind} ({locations}{more})')
        total = self.total()
        return f'{path}: {total} {"anomaly" if total == 1 else "anomalies"}: ' + '; '.join(parts)


def add_anomalies_argument(group, option):
    """
    ``option`` (e.g. ``--prosocial-anomalies``): ``warn`` (default) or ``error``.
    """
    group.add_argument(
        option,
        choices=['warn', 'error'],
        default='warn',
        help='data that looks wrong but may be in the real release (a label contradicting its '
        'votes, an empty utterance, a marker such as __endrots__ inside a text): warn (one '
        'summary line when the data is loaded; the data is used as it is, markers in targets '
        'escaped) or error (stop with that line)',
    )


def add_data_arguments(group, task, files):
    """
    A task's two data options: ``--<task>-data-dir`` (default ``$<TASK>_DATA_DIR``) reading
    ``files`` from a local directory instead of the download, and ``--<task>-anomalies``.
    """
    option = '--' + task.replace('_', '-')
    add_data_dir_argument(group, f'{option}-data-dir', data_dir_env(task), files)
    add_anomalies_argument(group, f'{option}-anomalies')


def check_splits(opt, task, paths, anomalies_of, error):
    """
    The one set-up of every task's first teacher: read and check now every file the command will
    read (:func:`splits_to_check`), so bad data stops it before any work, and report each file's
    anomalies in one line (or stop on them with ``--<task>-anomalies error``). ``paths(split)``:
    the files of a split (the data directory is found, or downloaded, only when there is one to
    read); ``anomalies_of(path)``: the file read, its :class:`Anomalies`.
    """
    mode = opt.get(f'{task}_anomalies') or 'warn'
    option = f'--{task.replace("_", "-")}-anomalies'
    for split in splits_to_check(opt, task):
        for path in paths(split):
            report_anomalies(anomalies_of(path), path, mode, option, error)


_reported = set()


def report_anomalies(anomalies, path, mode, option, error):
    """
    ``mode`` ``error``: raise ``error`` with the summary line if there are any; otherwise log the
    summary line once per file and process.
    """
    if not anomalies:
        return
    line = anomalies.summary(path)
    if mode == 'error':
        raise error(f'{line} (stopped by {option} error)')
    key = (path, line)
    if key not in _reported:
        _reported.add(key)
        from parlai.utils import logging

        logging.warning(f'{line} (used as they are; {option} error stops on them)')


def splits_to_check(opt, task=None):
    """
    The splits a command will read, to check when its first teacher is created: the split of
    ``opt['datatype']``; under ``train_model`` (its options are in ``opt``) training also reads
    valid and test (ParlAI's ``TrainLoop.train`` always ends with both), unless ``--evaltask``
    sends the evaluation to other tasks (``task``: this task's name, e.g. ``prosocial``; an
    ``--evaltask`` naming any of its teachers still evaluates on its files).
    """
    split = opt['datatype'].split(':')[0]
    splits = [split]
    if split != 'train' or 'validation_every_n_secs' not in opt:
        return splits
    evaltask = opt.get('evaltask')
    if evaltask:
        names = [t.strip().split(':')[0] for t in evaltask.split(',') if t.strip()]
        if task is None or task not in names:
            return splits
    return splits + ['valid', 'test']
