"""
What the three norm corpora of Canary's pre-training (ProsocialDialog paper §4.1, App. B.1) share:
reading a delimited file with a header (Social Chemistry 101's TSV, MIC's CSV, the Commonsense Norm
Bank's TSVs) with errors that name the file, the row and the field, and one ParlAI teacher shape
(one example per row: the text in, the norm out, each example its own episode).

Rows are read with Python's ``csv`` module, which reads what ``pandas.to_csv`` writes (the
releases' own tooling reads them with pandas): quoted fields, doubled quotes, newlines inside
quotes. A row is named by its line in the file (the line where the record starts) and, where the
release has one, its id.
"""

import copy
import csv
import os

from parlai.core.teachers import DialogTeacher

from parlai_prosocial.data_files import add_data_dir_argument

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
    text that is not UTF-8, a header without one of the ``required`` columns, or a record whose
    number of fields differs from the header's. ``obtain`` is added to the missing-file error.
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
        reader = csv.reader(f, delimiter=delimiter)
        try:
            header = next(reader)
        except UnicodeDecodeError as e:
            raise error(f'{path}: line 1: not UTF-8 text ({e.reason})') from None
        missing = [c for c in required if c not in header]
        if missing:
            raise error(
                f'{path}: line 1: the header has no column {", ".join(map(repr, missing))} '
                f'(it has {", ".join(header[:30])})'
            )
        line = reader.line_num + 1
        while True:
            start = line
            try:
                record = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as e:
                raise error(f'{path}: after line {start - 1}: not UTF-8 text ({e.reason})') from None
            except csv.Error as e:
                raise error(f'{path}: line {start}: not a valid record ({e})') from None
            line = reader.line_num + 1
            where = f'{path}: line {start}'
            if not record or record == ['']:
                continue
            if len(record) != len(header):
                raise error(
                    f'{where}: {len(record)} fields, the header has {len(header)}; '
                    'is the file truncated or a line broken?'
                )
            yield where, dict(zip(header, record))


def require_text(row, field, where, error):
    """
    ``row[field]`` stripped; an empty value raises ``error`` naming the field.
    """
    value = row[field].strip()
    if not value:
        raise error(f'{where}: field "{field}" is empty')
    return value


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
        self.configure(opt)
        opt['datafile'] = self._paths = tuple(self.data_paths(opt))
        self._counts = None
        if shared is None:
            self._count()  # read and check now: bad data fails before training starts
        super().__init__(opt, shared)

    def configure(self, opt):
        """
        Read the corpus options from ``opt`` (before the files are found).
        """

    def data_paths(self, opt):
        raise NotImplementedError

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
            self._counts = (n, n)
        return self._counts

    def num_episodes(self):
        return self._count()[0]

    def num_examples(self):
        return self._count()[1]


def datatype_split(opt):
    """
    ``train``, ``valid`` or ``test`` from ParlAI's datatype.
    """
    return opt['datatype'].split(':')[0]
