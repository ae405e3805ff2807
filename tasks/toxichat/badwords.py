"""
The "Bad" column of the ProsocialDialog paper's Table 5: does a reply contain a bad n-gram from the
word list of Zhou et al. (2021b), ``word_based_bias_list.csv`` of ``XuhuiZhou/Toxic_Debias``?

The list is CSV with a header; the columns used are ``word`` and ``in list of Naughty/Bad Words``
(``1`` or ``0``). The 403 released entries are 377 bad words and phrases (categories
``offensive-not-minority`` and ``offensive-minority-reference``) and 26 identity mentions
(``harmless-minority``, flag ``0``, e.g. ``wom[ae]n``), which are not bad and are not matched.

Matching rules (upstream's ``tools/get_stats.py`` joins the entries into one regular expression
``\\bw1\\b|\\bw2\\b|...`` with ``re.IGNORECASE``; we keep that and change two details):

* an entry is a regular expression, as upstream treats it (every released bad entry is a plain
  word or phrase, so in practice a literal);
* case-insensitive;
* whole words: the entry must not be preceded or followed by a word character (letters, digits,
  underscore, in Unicode). ``ass`` matches "You ass!" and "ass-kicking" but not "classy" or
  "asses"; plurals count only when the list has them (it has ``bitch`` and ``bitches``). Upstream's
  ``\\b`` means the same for entries that begin and end with a word character; for the one entry
  that does not, ``🖕``, ``\\b`` can only match next to a letter, so upstream never finds a
  free-standing 🖕 and we do;
* every run of whitespace in the reply (spaces, tabs, newlines) counts as one space, so the phrase
  ``god damn`` matches "god  damn" and "god\\ndamn" but not "goddamn".
"""

import csv
import io
import re

from .data import ToxiChatDataError

WORD_COLUMN = 'word'
BAD_FLAG_COLUMN = 'in list of Naughty/Bad Words'
BAD_FLAGS = ('0', '1')
CATEGORY_COLUMN = 'categorization'
#: the release's categories (flag 1, 1, 0); a value outside them is a damaged row
CATEGORIES = ('offensive-not-minority', 'offensive-minority-reference', 'harmless-minority')


def read_bad_words(path):
    """
    The bad entries (flag ``1``) of a word list, in file order.
    """
    try:
        with open(path, 'rb') as f:
            raw = f.read()
    except FileNotFoundError:
        raise ToxiChatDataError(f'{path}: no such file') from None
    try:
        text = raw.decode('utf-8-sig')
    except UnicodeDecodeError as e:
        raise ToxiChatDataError(
            f'{path}: not UTF-8 text ({e.reason} at byte {e.start}), so not the word list CSV'
        ) from None
    # strict: a quoted field that never ends (a file cut inside it) is an error, not the rest of
    # the file read as one field
    reader = csv.DictReader(io.StringIO(text, newline=''), strict=True)
    header = reader.fieldnames or []
    for column in (WORD_COLUMN, BAD_FLAG_COLUMN):
        if column not in header:
            raise ToxiChatDataError(
                f'{path}: line 1: the header has no column "{column}" (header: {header}); '
                'expected word_based_bias_list.csv of XuhuiZhou/Toxic_Debias'
            )
    entries = []
    rows = iter(reader)
    while True:
        row_start = reader.line_num + 1  # a row may span lines (a quoted field with newlines)
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as e:
            raise ToxiChatDataError(
                f'{path}: line {row_start}: not CSV ({e}); is the file cut short?'
            ) from None
        where = f'{path}: line {reader.line_num}'
        if None in row:
            raise ToxiChatDataError(f'{where}: more fields than the header has columns')
        if any(value is None for value in row.values()):
            present = sum(value is not None for value in row.values())
            raise ToxiChatDataError(
                f'{where}: {present} fields, the header has {len(header)} columns: expected '
                f'{len(header)}; is the file cut short?'
            )
        word, flag = row[WORD_COLUMN], row[BAD_FLAG_COLUMN]

        if flag not in BAD_FLAGS:
            raise ToxiChatDataError(
                f'{where}: field "{BAD_FLAG_COLUMN}" is {flag!r}, expected 0 or 1'
            )
        if not word.strip():
            raise ToxiChatDataError(f'{where}: field "{WORD_COLUMN}" is empty')
        try:
            re.compile(word)
        except re.error as e:
            raise ToxiChatDataError(
                f'{where}: field "{WORD_COLUMN}" {word!r} is not a regular expression ({e})'
            ) from None
        category = row.get(CATEGORY_COLUMN)
        if category is not None and category not in CATEGORIES:
            raise ToxiChatDataError(
                f'{where}: field "{CATEGORY_COLUMN}" is {category!r}, expected one of '
                f'{", ".join(CATEGORIES)}; is the file cut short?'
            )
        if flag == '1':
            entries.append(word)
    if not entries:
        raise ToxiChatDataError(f'{path}: no entry is flagged bad (column "{BAD_FLAG_COLUMN}")')
    return entries


class BadWordMatcher:
    """
    Finds the entries of a bad-word list in texts, by the rules of the module docstring.
    """

    def __init__(self, entries):
        self.entries = list(entries)
        alternatives = '|'.join(f'(?:{entry})' for entry in self.entries)
        self._regex = re.compile(rf'(?<!\w)(?:{alternatives})(?!\w)', re.IGNORECASE)

    @classmethod
    def from_file(cls, path):
        return cls(read_bad_words(path))

    @staticmethod
    def _normalise(text):
        return ' '.join(text.split())

    def find(self, text):
        """
        The bad n-grams in ``text``, as they are written there, left to right.
        """
        return [m.group(0) for m in self._regex.finditer(self._normalise(text))]

    def contains(self, text):
        return self._regex.search(self._normalise(text)) is not None
