"""
What the three norm corpora of Canary's pre-training (ProsocialDialog paper §4.1, App. B.1) share:
reading a delimited file with a header (Social Chemistry 101's TSV, MIC's CSV, the Commonsense Norm
Bank's TSVs) with errors that name the file, the row and the field, and one ParlAI teacher shape
(one example per row: the text in, the norm out, each example its own episode).

Rows are read with Python's ``csv`` module, which reads what ``pandas.to_csv`` writes (the
releases' own tooling reads them with pandas): quoted fields, doubled quotes, newlines inside
quotes. A row is named by its line in the file (the line where the record starts) and, where the
release has one, its id. The reading is strict: a quote that is never closed, or text after a
closing quote, is an error, never rows merged into one field (a lenient reader would read the
rest of the file into it, or up to the next quote).
"""

import copy
import csv
import itertools
import os

from parlai.core.teachers import DialogTeacher

from parlai_prosocial.data_files import add_data_dir_argument
from parlai_prosocial.errors import ProsocialDataError

# some Social Chemistry situations are long Reddit posts
csv.field_size_limit(1 << 24)

GIT_LFS_POINTER = 'version https://git-lfs.github.com/spec/'


def short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + '...'


def read_table(path, delimiter, required, error, obtain=''):
    """
    ``(where, row)`` for every record of a delimited file with a header line; ``where`` is
    ``"<path>: line N"`` and ``row`` a dict from column name to text. ``error`` (an exception
    class) is raised, naming the file and line, for a missing or empty file, a Git LFS pointer,
    text that is not UTF-8, a header without one of the ``required`` columns (said so when the
    file is separated by another delimiter) or with a column twice, a quote never closed (or text
    after a closing quote), a record whose number of fields differs from the header's, or no
    record after the header. ``obtain`` is added to the missing-file error.
    """
    if not os.path.isfile(path):
        raise error(f'{path}: no such file{(". " + obtain) if obtain else ""}')
    with open(path, 'rb') as f:
        head = f.read(len(GIT_LFS_POINTER))
    if not head:
        raise error(f'{path}: the file is empty')
    if head.startswith(GIT_LFS_POINTER.encode()):
        raise error(f'{path}: this is a Git LFS pointer, not the data; fetch the file itself')
    with open(path, encoding='utf-8', newline='') as f:
        reader = csv.reader(f, delimiter=delimiter, strict=True)
        try:
            header = next(reader)
        except UnicodeDecodeError as e:
            raise error(f'{path}: line 1: not UTF-8 text ({e.reason})') from None
        except csv.Error as e:
            raise _bad_header(path, delimiter, required, error, f'not a valid header ({e})')
        missing = [c for c in required if c not in header]
        if missing:
            raise _bad_header(
                path, delimiter, required, error,
                f'the header has no column {", ".join(map(repr, missing))} '
                f'(it has {", ".join(header[:30])})',
            )
        repeated = sorted({c for c in header if header.count(c) > 1}, key=header.index)
        if repeated:
            # a dict of the row would keep the last column of a name: its values would silently
            # replace the first's
            raise error(
                f'{path}: line 1: the header has the column '
                + ', '.join(f'{c!r} {header.count(c)} times' for c in repeated)
                + '; expected each column once (which one holds the data?)'
            )
        line = reader.line_num + 1
        records = 0
        while True:
            start = line
            try:
                record = next(reader)
            except StopIteration:
                break
            except UnicodeDecodeError as e:
                raise error(f'{path}: after line {start - 1}: not UTF-8 text ({e.reason})') from None
            except csv.Error as e:
                raise _bad_record(
                    path, start, reader.line_num, header, delimiter, e, error
                ) from None
            line = reader.line_num + 1
            where = f'{path}: line {start}'
            if not record or record == ['']:
                continue
            if len(record) != len(header):
                raise error(
                    f'{where}: {len(record)} fields, the header has {len(header)}; '
                    'is the file truncated or a line broken?'
                )
            records += 1
            yield where, dict(zip(header, record))
    if not records:
        raise error(f'{path}: no record after the header line; expected at least one')


#: how a delimiter is named in a message
DELIMITER_NAMES = {'\t': 'tabs', ',': 'commas', ';': 'semicolons', '|': 'bars'}


def _bad_header(path, delimiter, required, error, problem):
    """
    The error for a header line that does not give the ``required`` columns (``problem`` says
    how): when the line, split at another delimiter, has them all, the file is separated by that
    one (a TSV saved as CSV, or the reverse), and the message says so.
    """
    with open(path, encoding='utf-8', newline='') as f:
        first = f.readline()
    for other, name in DELIMITER_NAMES.items():
        if other == delimiter or other not in first:
            continue
        try:
            columns = next(csv.reader([first], delimiter=other))
        except csv.Error:
            continue
        if all(c in columns for c in required):
            return error(
                f'{path}: line 1: the columns are separated by {name}; expected '
                f'{DELIMITER_NAMES[delimiter]}, as the release writes this file (was it saved '
                f'again with {name}?)'
            )
    return error(f'{path}: line 1: {problem}')


def _bad_record(path, start, line, header, delimiter, e, error):
    """
    The error for the record starting on line ``start`` that the strict reader refused (``e``,
    on line ``line``): a quote never closed, or text after a closing quote. The record is read
    again, as ``csv`` reads it, to name the field whose quote went wrong.
    """
    with open(path, encoding='utf-8', newline='') as f:
        text = ''.join(itertools.islice(f, start - 1, line))
    field, opened, closed = _quote_gone_wrong(text, delimiter)
    if opened is None:  # not a quote after all: as csv says
        return error(f'{path}: line {start}: not a valid record ({e}, on line {line})')
    name = f'field "{header[field]}"' if field is not None and field < len(header) else 'a field'
    if closed is None:  # "unexpected end of data"
        return error(
            f'{path}: line {start}: {name} opens a quote (") on line {start + opened} that is '
            'never closed, so the rest of the file would be read into it; expected a closing '
            'quote (and a quote inside a quoted field doubled: "")'
        )
    return error(
        f'{path}: line {start}: {name} opens a quote (") on line {start + opened} that closes '
        f'on line {start + closed} with text after it; expected the field to end at its '
        'closing quote (a quote inside it doubled: ""): is a quote left open?'
    )


def _quote_gone_wrong(text, delimiter):
    """
    ``(field, opened, closed)``: the index of the field whose quote went wrong in ``text`` (the
    record, and what follows it up to the error), the line (from 0) where its quote opened and
    where text follows its closing quote (None: it never closes).
    """
    state, field, opened, line = 'start', 0, None, 0
    for char in text:
        if state == 'quoted':
            if char == '"':
                state = 'quote'
        elif state == 'quote':
            if char == '"':
                state = 'quoted'
            elif char == delimiter:
                state, field = 'start', field + 1
            elif char in '\r\n':
                state, field = 'start', 0
            else:
                return field, opened, line
        elif char == '"' and state == 'start':
            state, opened = 'quoted', line
        elif char == delimiter:
            state, field = 'start', field + 1
        elif char in '\r\n':
            state, field = 'start', 0
        else:
            state = 'field'
        if char == '\n':
            line += 1
    return (field, opened, None) if state in ('quoted', 'quote') else (None, None, None)


def require_text(row, field, where, error):
    """
    ``row[field]`` stripped; an empty value raises ``error`` naming the field.
    """
    value = row[field].strip()
    if not value:
        raise error(f'{where}: field "{field}" is empty')
    return value


def require_int(row, field, low, high, where, error):
    """
    ``row[field]`` as a whole number from ``low`` to ``high`` (written ``4`` or, by pandas in a
    column with gaps, ``4.0``), or None if it is empty (an attribute not given); anything else
    raises ``error`` naming the field.
    """
    text = row[field].strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not value.is_integer() or not low <= value <= high:
        raise error(
            f'{where}: field "{field}" is {short(row[field])}, expected a whole number from '
            f'{low} to {high}, or nothing'
        )
    return int(value)


def require_choice(row, field, choices, where, error):
    value = row[field].strip()
    if value not in choices:
        raise error(
            f'{where}: field "{field}" is {short(row[field])}, expected one of '
            f'{", ".join(map(repr, choices))}'
        )
    return value


class NormCorpusTeacher(DialogTeacher):
    """
    One example per norm: ``text`` -> ``labels`` = [target], each its own episode, with the row's
    annotations as fields. Subclasses set ``id``, ``DATA_DIR_OPTION`` (e.g. ``--mic-data-dir``),
    ``DATA_DIR_ENV``, ``FILES_HELP`` and implement :meth:`data_paths` (the files of the split,
    from the local directory or the download) and :meth:`examples` (one file's examples).

    Every file of the split is read and checked when the teacher is created, so bad data stops
    the run before training, with one line naming the file, the row and the field.
    """

    id = 'norm_corpus'
    #: the corpus's :class:`~parlai_prosocial.errors.ProsocialDataError`
    ERROR = ProsocialDataError
    DATA_DIR_OPTION = None
    DATA_DIR_ENV = None
    FILES_HELP = ''

    @classmethod
    def add_cmdline_args(cls, parser, partial_opt=None):
        super().add_cmdline_args(parser, partial_opt)
        group = parser.add_argument_group(cls.id)
        add_data_dir_argument(group, cls.DATA_DIR_OPTION, cls.DATA_DIR_ENV, cls.FILES_HELP)
        cls.add_corpus_args(group)
        return parser

    @classmethod
    def add_corpus_args(cls, group):
        pass

    def __init__(self, opt, shared=None):
        opt = copy.deepcopy(opt)
        self._datatype = opt['datatype']
        self.configure(opt)
        opt['datafile'] = self._paths = tuple(self.data_paths(opt))
        self._counts = None
        if shared is None:
            for path in self._paths:
                self.check_file(path)
            self._count()  # read and check now: bad data fails before training starts
        super().__init__(opt, shared)

    def configure(self, opt):
        """
        Read the corpus options from ``opt`` (before the files are found).
        """

    def data_paths(self, opt):
        raise NotImplementedError

    def check_file(self, path):
        """
        Read and check one file of the split when the first teacher is created (its anomalies
        reported, for a corpus that counts them).
        """

    def examples(self, path):
        raise NotImplementedError

    def _all_examples(self, paths):
        for path in paths:
            yield from self.examples(path)

    def setup_data(self, paths):
        for example in self._all_examples(paths):
            yield example, True

    def _count(self):
        # also keeps DialogTeacher's stream mode from writing a .lengths file into the data dir
        if self._counts is None:
            n = sum(1 for _ in self._all_examples(self._paths))
            if n == 0:  # ParlAI would fail on its first act() with a ZeroDivisionError
                raise self.ERROR(f'{", ".join(self._paths)}: {self.no_examples()}')
            self._counts = (n, n)
        return self._counts

    def no_examples(self):
        """
        Why the split has no examples, and what was expected.
        """
        return f'no examples for -dt {self._datatype}; expected at least one'

    def num_episodes(self):
        return self._count()[0]

    def num_examples(self):
        return self._count()[1]


def datatype_split(opt):
    """
    ``train``, ``valid`` or ``test`` from ParlAI's datatype.
    """
    return opt['datatype'].split(':')[0]
