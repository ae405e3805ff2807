"""
MIC teacher (Moral Integrity Corpus, Ziems et al., 2022): Canary's pre-training on MIC
(ProsocialDialog paper §4.1, App. B.1; ``-o prosocial/canary_pretrain_mic``).

    parlai display_data -t mic --mic-data-dir DIR -dt valid

One example per RoT annotation, each its own episode: ``text`` is the prompt and the chatbot's
reply on two lines (``Q\\nA``, the way ParlAI joins dialogue turns, as Canary's own inputs are
joined), the label the RoT: the task MIC's RoT generators train on (``Q [answ] A`` -> ``rot``). The
files are agreement-gated: see :mod:`.build`. Splits: the release's train / dev / test.

Messages keep the annotations present in the file: ``moral``, ``rot_agree``,
``violation_severity``, ``a_agrees``, and ``prompt`` / ``reply`` apart.
"""

from parlai_prosocial.data_files import create_agents  # noqa: F401 (see there)
from parlai_prosocial.our_names import unknown_teachers
from parlai_prosocial.data_files import parsed_once_per_file
from parlai_prosocial.tasks.norm_corpora import NormCorpusTeacher, datatype_split

from .build import DATA_DIR_ENV, data_file
from .data import ANNOTATIONS, FILE, SPLITS, MicDataError, read_rows

load_rows = parsed_once_per_file(read_rows)


class MicTeacher(NormCorpusTeacher):
    """
    MIC: prompt and reply -> RoT.
    """

    id = 'mic'
    ERROR = MicDataError
    DATA_DIR_OPTION = '--mic-data-dir'
    DATA_DIR_ENV = DATA_DIR_ENV
    FILES_HELP = FILE + ' (agreement-gated: see the README of SALT-NLP/mic)'

    def configure(self, opt):
        self.split = SPLITS[datatype_split(opt)]

    def data_paths(self, opt):
        return [data_file(opt)]

    def no_examples(self):
        return f'no row of split "{self.split}"; expected at least one'

    def examples(self, path):
        for row in load_rows(path)[self.split]:
            message = {
                'text': row['Q'] + '\n' + row['A'],
                'labels': [row['rot']],
                'prompt': row['Q'],
                'reply': row['A'],
            }
            for field in ANNOTATIONS.values():
                if field in row:
                    message[field] = row[field]
            yield message


class DefaultTeacher(MicTeacher):
    pass


# -t mic:NOSUCH is one line listing the teachers (ParlAI's loader asks this module)
__getattr__ = unknown_teachers(__name__)
