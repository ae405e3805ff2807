"""
Statistics of the ProsocialDialog files, beside the numbers the paper reports.

    python -m parlai_prosocial.tasks.prosocial.stats --prosocial-data-dir DIR [--json]

Counts follow the paper's units (Kim et al., 2022, Table 1, §3.4, A.5, Figure 4):

* a *turn* is one file row (one context and its prosocial response), so it is 2 *utterances*;
  the safety label, its 3 votes and the RoTs belong to a turn (the paper's 166K annotated
  utterances are the contexts: 497,043 votes = 3 x 165,681 turns = 3 x 331,362 / 2);
* "Avg. #Turns" in Table 1 is utterances per dialogue (331,362 / 58,137 = 5.7);
* lengths are whitespace-separated words;
* RoTs are counted per turn, as the files store them; a RoT repeated on several turns (the real
  files do that, see ``hf-columns-sample.json``) counts each time in ``rots`` and in the average
  length, and once in ``unique_rots`` (exact string match over all splits). The paper does not say
  how it counted its 217,321, so that number may use another unit.
* the paper's own RoT numbers disagree: A.5 gives 217,321 RoTs and §3.4 58,137 dialogues, i.e.
  3.74 RoTs per dialogue, but A.5 also says 3.3 per dialogue. No count of the data can match both;
  both are printed, with the inconsistency beside them.
"""

import json
from collections import Counter

from parlai.core.params import ParlaiParser
from parlai.core.script import ParlaiScript

from parlai_prosocial.data_files import add_data_dir_argument
from parlai_prosocial.formats import (
    NEEDS_CAUTION,
    SAFETY_LABELS,
    THREE_WAY_LABELS,
    THREE_WAY_SAFETY,
)

from .build import DATA_DIR_ENV, data_dir
from .data import SPLIT_FILES, read_dialogues, split_path

_NEEDS_CAUTION_42 = (
    42,
    '§3.4 "42% of utterances labeled as Needs Caution" (Fig. 4); 5-level or 3-way: unstated',
)

#: The paper's numbers, shaped like :func:`compute_statistics`' result: (value, where it is said).
PAPER_STATISTICS = {
    'dialogues': {
        'train': (42304, '§3.4, A.5'),
        'valid': (7132, '§3.4, A.5'),
        'test': (8701, '§3.4, A.5'),
    },
    'dialogues_total': (58137, '§3.4 (Table 1: 58k)'),
    'turns': ('166K', '§3.4: the annotated utterances (contexts), rounded'),
    'utterances': (331362, '§3.4 (Table 1: 331k)'),
    'avg_utterances_per_dialogue': (5.7, 'Table 1 "Avg. #Turns"'),
    'avg_utterance_words': (20.0, 'Table 1 "Avg. Utt. Length"'),
    'rots': (217321, 'A.5 (/ 58,137 dialogues = 3.74 per dialogue, not A.5\'s 3.3)'),
    'unique_rots': (160296, 'A.5 (§3.4: 160,295)'),
    'unique_rots_percent': (74, 'A.5'),
    'avg_rot_words': (9.5, 'A.5'),
    'avg_rots_per_dialogue': (3.3, 'A.5 (inconsistent: A.5\'s 217,321 RoTs / 58,137 = 3.74)'),
    'safety_annotations': (497043, '§3.4'),
    'safety_labels_percent': {NEEDS_CAUTION: _NEEDS_CAUTION_42},
    'three_way_safety_labels_percent': {NEEDS_CAUTION: _NEEDS_CAUTION_42},
}


def _ratio(numerator, denominator, scale=1):
    # None rather than a crash: data without RoTs (or no data at all) has no average
    return scale * numerator / denominator if denominator else None


def _words(text):
    return len(text.split())


def compute_statistics(dialogues_by_split):
    """
    The statistics of ``{split: dialogues}`` (dialogues as :func:`data.read_dialogues` returns
    them); see the module docstring for the units.
    """
    dialogues = [d for split_dialogues in dialogues_by_split.values() for d in split_dialogues]
    turns = [turn for dialogue in dialogues for turn in dialogue]
    utterances = [text for turn in turns for text in (turn['context'], turn['response'])]
    rots = [rot for turn in turns for rot in turn['rots']]
    labels = Counter(turn['safety_label'] for turn in turns)
    # every level / class is listed, in severity order, even when it does not occur
    five_way = {label: labels[label] for label in SAFETY_LABELS}
    three_way = dict.fromkeys(THREE_WAY_LABELS, 0)
    for label, count in five_way.items():
        three_way[THREE_WAY_SAFETY[label]] += count
    unique_rots = len(set(rots))
    return {
        'dialogues': {split: len(d) for split, d in dialogues_by_split.items()},
        'dialogues_total': len(dialogues),
        'turns': len(turns),
        'utterances': len(utterances),
        'avg_utterances_per_dialogue': _ratio(len(utterances), len(dialogues)),
        'avg_utterance_words': _ratio(sum(map(_words, utterances)), len(utterances)),
        'rots': len(rots),
        'unique_rots': unique_rots,
        'unique_rots_percent': _ratio(unique_rots, len(rots), 100),
        'avg_rot_words': _ratio(sum(map(_words, rots)), len(rots)),
        'avg_rots_per_dialogue': _ratio(len(rots), len(dialogues)),
        'safety_annotations': sum(len(turn['safety_annotations']) for turn in turns),
        'safety_labels': five_way,
        'safety_labels_percent': {k: _ratio(v, len(turns), 100) for k, v in five_way.items()},
        'three_way_safety_labels': three_way,
        'three_way_safety_labels_percent': {
            k: _ratio(v, len(turns), 100) for k, v in three_way.items()
        },
    }


def statistic_rows(ours, paper, prefix=''):
    """
    (name, paper value, our value, source) for every leaf of ``ours``, in its order.
    """
    for key, value in ours.items():
        name = prefix + key
        if isinstance(value, dict):
            yield from statistic_rows(value, paper.get(key, {}), name + '.')
        else:
            paper_value, source = paper.get(key, (None, ''))
            yield name, paper_value, value, source


def format_value(value):
    if value is None:
        return '-'
    if isinstance(value, str):  # a number the paper only gives rounded, e.g. "166K"
        return value
    if isinstance(value, float):
        return f'{value:,.2f}'
    return f'{value:,}'


def format_statistics(stats, paper=PAPER_STATISTICS):
    """
    A plain-text table: statistic, the paper's number, ours, where the paper says it.
    """
    table = [('statistic', 'paper', 'ours', 'paper source')]
    table += [(name, format_value(p), format_value(o), src) for name, p, o, src in statistic_rows(stats, paper)]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    lines = [
        f'{name:<{widths[0]}}  {p:>{widths[1]}}  {o:>{widths[2]}}  {src}'.rstrip()
        for name, p, o, src in table
    ]
    return '\n'.join(lines)


class ProsocialStats(ParlaiScript):
    """
    Print the statistics of the ProsocialDialog files beside the paper's.
    """

    @classmethod
    def setup_args(cls):
        parser = ParlaiParser(True, False, 'ProsocialDialog dataset statistics')
        # the teachers' option and default; not via ResponseTeacher.add_cmdline_args, which
        # would also offer --mutators and --teacher-seed that mean nothing here (without a
        # directory, the official files are downloaded into --datapath)
        add_data_dir_argument(
            parser, '--prosocial-data-dir', DATA_DIR_ENV, '{train,valid,test}.json, either layout'
        )
        parser.add_argument('--json', action='store_true', help='print the statistics as JSON')
        return parser

    def run(self):
        directory = data_dir(self.opt)
        stats = compute_statistics(
            {split: read_dialogues(split_path(directory, split)) for split in SPLIT_FILES}
        )
        print(json.dumps(stats, indent=2) if self.opt['json'] else format_statistics(stats))
        return stats


if __name__ == '__main__':
    ProsocialStats.main()
