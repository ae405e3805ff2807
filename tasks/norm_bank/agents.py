"""
Commonsense Norm Bank teacher (Jiang et al., 2021): Canary's pre-training on the data Delphi is
trained on (ProsocialDialog paper §4.1, App. B.1, "Canary (Delphi)";
``-o prosocial/canary_pretrain_norm_bank``).

    parlai display_data -t norm_bank --norm-bank-data-dir DIR -dt valid

One example per row, each its own episode: ``text`` is the situation (free-form mode) or the
moral statement (yes/no mode), the label the release's judgment in words (``text_label``, e.g.
"it's wrong"; yes/no: whether people agree), Delphi's generative task. ``--norm-bank-mode``
chooses the released tasks: ``both`` (default: free-form then yes/no, the two released tasks Delphi
was trained on), ``freeform`` or ``yesno``. The ProsocialDialog paper does not say which parts of
the Norm Bank Canary was pre-trained on; see ``projects/prosocial_dialog/README.md``.

The files are request-gated: see :mod:`.build`. Splits: the release's train / validation / test.
Messages keep ``class_label`` (1 good, 0 discretionary, -1 bad), ``norm_bank_mode`` and the
optional columns present (``input_type``, ``format``, ``source``).
"""

from parlai_prosocial.data_files import create_agents  # noqa: F401 (see there)
from parlai_prosocial.our_names import unknown_teachers
from parlai_prosocial.data_files import parsed_once_per_file
from parlai_prosocial.tasks.norm_corpora import NormCorpusTeacher, datatype_split

from .build import DATA_DIR_ENV, data_files
from .data import MODES, OPTIONAL, SPLITS, NormBankDataError, read_judgments

MODE_CHOICES = ('both', 'freeform', 'yesno')

load_judgments = parsed_once_per_file(read_judgments)


class NormBankTeacher(NormCorpusTeacher):
    """
    Commonsense Norm Bank: situation (or statement) -> judgment.
    """

    id = 'norm_bank'
    ERROR = NormBankDataError
    DATA_DIR_OPTION = '--norm-bank-data-dir'
    DATA_DIR_ENV = DATA_DIR_ENV
    FILES_HELP = (
        '{train,validation,test}.{moral_acceptability,moral_agreement}.tsv (request-gated: see '
        'the README of liweijiang/delphi)'
    )

    @classmethod
    def add_corpus_args(cls, group):
        group.add_argument(
            '--norm-bank-mode',
            choices=MODE_CHOICES,
            default='both',
            help='free-form mode (situation -> judgment), yes/no mode (statement -> agreement) '
            'or both (default)',
        )

    def configure(self, opt):
        mode = opt.get('norm_bank_mode') or 'both'
        if mode not in MODE_CHOICES:
            raise ValueError(f'--norm-bank-mode {mode!r}: use one of {", ".join(MODE_CHOICES)}')
        self.modes = tuple(MODES) if mode == 'both' else (mode,)

    def data_paths(self, opt):
        return data_files(opt, SPLITS[datatype_split(opt)], self.modes)

    def examples(self, path):
        mode = 'yesno' if path.endswith(MODES['yesno'] + '.tsv') else 'freeform'
        for row in load_judgments(path):
            message = {
                'text': row['input_sequence'],
                'labels': [row['text_label']],
                'class_label': row['class_label'],
                'norm_bank_mode': mode,
            }
            for column in OPTIONAL:
                if column in row:
                    message[column] = row[column]
            yield message


class DefaultTeacher(NormBankTeacher):
    pass


# -t norm_bank:NOSUCH is one line listing the teachers (ParlAI's loader asks this module)
__getattr__ = unknown_teachers(__name__)
