"""
Reading the Moral Integrity Corpus (MIC; Ziems et al., ACL 2022), the second of Canary's norm
pre-training corpora (ProsocialDialog paper §4.1, App. B.1).

MIC is released behind a data use agreement (official repository SALT-NLP/mic, README "Where can I
download the data?"): fill in the agreement form, then download ``MIC.csv`` from the link it
points to. The file is a comma-separated table with a header, one row per RoT annotation of a
chatbot reply, written and read with pandas by the release's own code. The columns this reader
uses, as the release's code reads them (``rot_generation/common.py``, ``generate_rots.py``):

* ``Q`` the prompt (an r/AskReddit question), ``A`` the chatbot's reply, ``rot`` the RoT;
* ``split``: ``train``, ``dev`` or ``test``;
* kept as annotations when present: ``moral`` (moral foundations joined with ``|``), ``rot-agree``
  (1-5), ``violation-severity`` (1-5), ``A_agrees`` (0-2: the reply disagrees / is neutral /
  agrees with the RoT).

What is checked (a :class:`MicDataError` names the file, the line and the field): the file and its
header (``Q``, ``A``, ``rot``, ``split``), every record's number of fields, ``split`` one of the
three, ``Q``, ``A`` and ``rot`` non-empty, the numeric annotations (where present) a whole number
in their range (``4`` or ``4.0``, kept as ``4``) or empty. Other columns are kept as text,
unchecked.
"""

from parlai_prosocial import errors
from parlai_prosocial.tasks.norm_corpora import (
    read_table,
    require_choice,
    require_int,
    require_text,
)

FILE = 'MIC.csv'

SPLITS = {'train': 'train', 'valid': 'dev', 'test': 'test'}

REQUIRED = ('Q', 'A', 'rot', 'split')

#: optional annotation columns -> message field
ANNOTATIONS = {
    'moral': 'moral',
    'rot-agree': 'rot_agree',
    'violation-severity': 'violation_severity',
    'A_agrees': 'a_agrees',
}

#: the numeric annotation columns -> their range (the module docstring)
NUMBERS = {'rot-agree': (1, 5), 'violation-severity': (1, 5), 'A_agrees': (0, 2)}

DATA_USE_AGREEMENT = 'https://forms.gle/kp8bPgFoBHeNL4Q68'
DATA_LINK = 'https://www.dropbox.com/sh/m46z42nce8x0ttk/AABuSZiA6ESyrJNWmgTPrfuRa?dl=0'

OBTAIN = (
    f'MIC is distributed under a data use agreement, so it is not downloaded: complete the '
    f'agreement at {DATA_USE_AGREEMENT}, download MIC.csv from {DATA_LINK} (the link in '
    'SALT-NLP/mic\'s README) and pass its folder with --mic-data-dir DIR (or $MIC_DATA_DIR)'
)


class MicDataError(errors.ProsocialDataError):
    """
    A MIC file that cannot be read as it is.
    """


def read_rows(path):
    """
    ``{split: [row, ...]}``: every RoT annotation of ``MIC.csv``, in file order.
    """
    by_split = {name: [] for name in SPLITS.values()}
    for where, row in read_table(path, ',', REQUIRED, MicDataError, OBTAIN):
        split = require_choice(row, 'split', tuple(by_split), where, MicDataError)
        item = {
            'Q': require_text(row, 'Q', where, MicDataError),
            'A': require_text(row, 'A', where, MicDataError),
            'rot': require_text(row, 'rot', where, MicDataError),
        }
        for column, field in ANNOTATIONS.items():
            if column in NUMBERS and column in row:
                value = require_int(row, column, *NUMBERS[column], where, MicDataError)
                item[field] = '' if value is None else str(value)
            elif column in row:
                item[field] = row[column].strip()
        by_split[split].append(item)
    return by_split
