"""
Social Chemistry 101 teacher (Forbes et al., 2020): Canary's pre-training on Social Chemistry
(ProsocialDialog paper §4.1, App. B.1; ``-o prosocial/canary_pretrain_social_chem``).

    parlai display_data -t social_chem --social-chem-data-dir DIR -dt valid

One example per RoT, each its own episode: ``text`` is the situation, the label the RoT, the task
Social Chemistry's own generative models train on (situation -> RoT). ``--social-chem-target
attributes_and_rot`` makes the label the RoT's attributes followed by the RoT (``[attrs]
<morality-ethics> <care-harm> <agree-4> [rot] It's wrong to ...``: the categories, the moral
foundations and the agreement level as ``<value>`` tokens, then ``[rot]`` and the RoT), Social
Chemistry's "attributes and RoT" objective. The ProsocialDialog paper does not say which of the two
it pre-trained on; the preset uses ``rot``, the form of Canary's own RoT targets.

RoTs that the release marks bad (``rot-bad`` 1: workers flagged the RoT as unusable) are left
out; ``--social-chem-keep-bad-rots true`` keeps them. Splits: the release's train / dev / test.

Messages keep the annotations: ``rot_id``, ``area``, ``situation_short_id``,
``rot_categorization``, ``rot_moral_foundations`` (lists), ``rot_agree``, ``rot_judgment``.
"""

from parlai_prosocial.data_files import create_agents  # noqa: F401 (see there)
from parlai_prosocial.our_names import unknown_teachers
from parlai_prosocial.data_files import (
    add_anomalies_argument,
    parsed_once_per_file,
    report_anomalies,
)
from parlai_prosocial.tasks.norm_corpora import NormCorpusTeacher, datatype_split

from .build import DATA_DIR_ENV, data_file
from .data import FILE, SPLITS, SocialChemDataError, read_file

TARGETS = ('rot', 'attributes_and_rot')

load_file = parsed_once_per_file(read_file)


def attributes_text(norm):
    """
    ``<category> ... <foundation> ... <agree-N>`` of one norm (empty attributes left out).
    """
    tokens = [f'<{v}>' for v in norm['rot_categorization'] + norm['rot_moral_foundations']]
    if norm['rot_agree']:
        tokens.append(f'<agree-{norm["rot_agree"]}>')
    return ' '.join(tokens)


def target(norm, kind='rot'):
    if kind == 'rot':
        return norm['rot']
    if kind == 'attributes_and_rot':
        attributes = attributes_text(norm)
        return ' '.join(part for part in ('[attrs]', attributes, '[rot]', norm['rot']) if part)
    raise ValueError(f'unknown target {kind!r}: use one of {", ".join(TARGETS)}')


class SocialChemTeacher(NormCorpusTeacher):
    """
    Social Chemistry 101: situation -> RoT (or attributes and RoT).
    """

    id = 'social_chem'
    ERROR = SocialChemDataError
    DATA_DIR_OPTION = '--social-chem-data-dir'
    DATA_DIR_ENV = DATA_DIR_ENV
    FILES_HELP = FILE

    @classmethod
    def add_corpus_args(cls, group):
        group.add_argument(
            '--social-chem-target',
            choices=TARGETS,
            default='rot',
            help='the label: the RoT (rot), or its attributes then the RoT (attributes_and_rot)',
        )
        group.add_argument(
            '--social-chem-keep-bad-rots',
            type='bool',
            default=False,
            help='keep the RoTs the release marks rot-bad (left out by default)',
        )
        add_anomalies_argument(group, '--social-chem-anomalies')

    def configure(self, opt):
        self.target_kind = opt.get('social_chem_target') or 'rot'
        if self.target_kind not in TARGETS:
            raise ValueError(
                f'--social-chem-target {self.target_kind!r}: use one of {", ".join(TARGETS)}'
            )
        self.keep_bad = bool(opt.get('social_chem_keep_bad_rots'))
        self.anomalies = opt.get('social_chem_anomalies') or 'warn'
        self.split = SPLITS[datatype_split(opt)]

    def data_paths(self, opt):
        return [data_file(opt)]

    def check_file(self, path):
        report_anomalies(
            load_file(path)[1], path, self.anomalies, '--social-chem-anomalies',
            SocialChemDataError,
        )

    def no_examples(self):
        if self.keep_bad:
            return f'no row of split "{self.split}"; expected at least one'
        return (
            f'no row of split "{self.split}" whose RoT is not rot-bad; expected at least one '
            '(--social-chem-keep-bad-rots true keeps the bad ones)'
        )

    def examples(self, path):
        for norm in load_file(path)[0][self.split]:
            if norm['rot_bad'] and not self.keep_bad:
                continue
            yield {
                'text': norm['situation'],
                'labels': [target(norm, self.target_kind)],
                'rot_id': norm['rot_id'],
                'area': norm['area'],
                'situation_short_id': norm['situation_short_id'],
                'rot_categorization': list(norm['rot_categorization']),
                'rot_moral_foundations': list(norm['rot_moral_foundations']),
                'rot_agree': norm['rot_agree'],
                'rot_judgment': norm['rot_judgment'],
            }


class DefaultTeacher(SocialChemTeacher):
    pass


# -t social_chem:NOSUCH is one line listing the teachers (ParlAI's loader asks this module)
__getattr__ = unknown_teachers(__name__)
