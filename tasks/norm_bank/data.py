"""
Reading the Commonsense Norm Bank (Jiang et al., 2021, the data Delphi is trained on), the third
of Canary's norm pre-training corpora (ProsocialDialog paper §4.1, App. B.1: "Canary (Delphi)").

Access goes through a request form (official repository liweijiang/delphi, README "Data and Model
Access"; licence CC BY-NC-SA 4.0, no commercial use): the form returns a link to the files. The
release's datasheet (``data/datasheet.md`` of that repository) describes two tasks, each a
train / validation / test file ("denoted by the file prefix, i.e. ``train.``, ``validation.``,
``test.``"), which the repository's code reads as tab-separated files with a header,
``<split>.moral_acceptability.tsv`` and ``<split>.moral_agreement.tsv``:

* free-form mode (``moral_acceptability``): ``input_sequence`` a situation, ``class_label`` its
  judgment (1 good, 0 discretionary, -1 bad), ``text_label`` the judgment in words (e.g. "it's
  wrong"), ``input_type``, ``format``, ``source``;
* yes/no mode (``moral_agreement``): ``input_sequence`` a moral statement, ``class_label``,
  ``text_label`` (whether people at large agree, in words), ``input_type``, ``source``.

(The third, relative mode, is not in the release.)

What is checked (a :class:`NormBankDataError` names the file, the line and the field): the file
and its header (``input_sequence``, ``class_label``, ``text_label``), every record's number of
fields, ``input_sequence`` and ``text_label`` non-empty, ``class_label`` a number equal to -1, 0
or 1. Other columns are kept as text.
"""

from parlai_prosocial import errors
from parlai_prosocial.tasks.norm_corpora import read_table, require_text

#: ParlAI datatype -> the release's split prefix
SPLITS = {'train': 'train', 'valid': 'validation', 'test': 'test'}

#: mode -> file suffix
MODES = {'freeform': 'moral_acceptability', 'yesno': 'moral_agreement'}

REQUIRED = ('input_sequence', 'class_label', 'text_label')

OPTIONAL = ('input_type', 'format', 'source')

REQUEST_FORM = 'https://forms.gle/VoAVuPUJFNChWhSj8'

OBTAIN = (
    f'The Commonsense Norm Bank is shared on request, so it is not downloaded: fill in the form '
    f'at {REQUEST_FORM} (the link in liweijiang/delphi\'s README; CC BY-NC-SA 4.0), download the '
    'files from the link it returns, and pass the folder holding '
    '{train,validation,test}.moral_acceptability.tsv and .moral_agreement.tsv with '
    '--norm-bank-data-dir DIR (or $NORM_BANK_DATA_DIR)'
)


class NormBankDataError(errors.ProsocialDataError):
    """
    A Commonsense Norm Bank file that cannot be read as it is.
    """


def file_name(split, mode):
    return f'{split}.{MODES[mode]}.tsv'


def _class_label(row, where):
    text = row['class_label'].strip()
    try:
        value = float(text)
    except ValueError:
        value = None
    if value not in (-1.0, 0.0, 1.0):
        raise NormBankDataError(
            f'{where}: field "class_label" is {text!r}, expected -1, 0 or 1'
        )
    return int(value)


def read_judgments(path):
    """
    Every row of one Norm Bank file, in file order: dicts with ``input_sequence``,
    ``class_label`` (an int), ``text_label`` and the optional columns present.
    """
    rows = []
    for where, row in read_table(path, '\t', REQUIRED, NormBankDataError, OBTAIN):
        item = {
            'input_sequence': require_text(row, 'input_sequence', where, NormBankDataError),
            'class_label': _class_label(row, where),
            'text_label': require_text(row, 'text_label', where, NormBankDataError),
        }
        for column in OPTIONAL:
            if column in row:
                item[column] = row[column].strip()
        rows.append(item)
    return rows
