"""
How many RoT & Response targets a label length limit cuts into, under ParlAI's rule and Prost's.

    python -m parlai_prosocial.agents.prost.truncation --prosocial-data-dir DIR \
        --dict-file zoo:blender/reddit_3B/model.dict --dict-tokenizer bytelevelbpe --label-truncate 128

Every ``prosocial:rot_response`` target of the three splits (``RoT ... __endrots__ reply``, or the
reply alone) is tokenized as ``-m prost`` tokenizes it (the given dictionary, ``__endrots__`` one
token, the end token appended) and cut to ``--label-truncate`` tokens by both rules of
``--prost-label-truncation`` (:func:`~.agents.truncate_target`): ``end`` (ParlAI's: cut the end)
and ``rots`` (drop RoT tokens first). Printed per split: the targets, those longer than the limit,
and those whose reply loses tokens under each rule. With the paper's dictionary (Prost's recipe
uses BlenderBot 3B's byte-level BPE, ``-o prosocial/prost``) this measures the paper's setting;
with ``--dict-tokenizer re`` and no dictionary file it counts word-like tokens.
"""

import json

from parlai.core.params import ParlaiParser
from parlai.core.script import ParlaiScript

from parlai_prosocial.formats import ROTS_END

from .agents import ProstAgent, truncate_target

SPLITS = ('train', 'valid', 'test')


def reply_cut(vec, kept, rots_end):
    """
    Whether ``kept`` (the truncated ``vec``) lost tokens of the reply (after the last marker).
    """
    def reply(tokens):
        if rots_end in tokens:
            last = len(tokens) - 1 - tokens[::-1].index(rots_end)
            return tokens[last + 1:]
        return tokens

    if rots_end in vec and rots_end not in kept:
        return True
    return len(reply(kept)) < len(reply(vec))


def build_dictionary(opt):
    """
    The dictionary ``-m prost`` would build from ``opt`` (with ``__endrots__``), without a model.
    """
    dictionary = ProstAgent.dictionary_class()(opt)
    dictionary.add_additional_special_tokens([ROTS_END])
    return dictionary


def count(opt, dictionary=None):
    """
    ``{split: {targets, longer, reply_cut_end, reply_cut_rots}}`` for ``opt['label_truncate']``.
    """
    from parlai_prosocial import testing

    dictionary = dictionary or build_dictionary(opt)
    limit = opt['label_truncate']
    rots_end = dictionary[ROTS_END]
    end = dictionary[dictionary.end_token]
    counts = {}
    for split in SPLITS:
        datatype = 'train:ordered' if split == 'train' else split
        teacher = testing.create_teacher(
            'prosocial:rot_response', datatype, prosocial_data_dir=opt.get('prosocial_data_dir'),
            datapath=opt['datapath'],
        )
        result = dict(targets=0, longer=0, reply_cut_end=0, reply_cut_rots=0)
        for message in testing.one_epoch(teacher):
            label = (message.get('labels') or message.get('eval_labels'))[0]
            vec = dictionary.txt2vec(label) + [end]
            result['targets'] += 1
            result['longer'] += len(vec) > limit
            for mode in ('end', 'rots'):
                kept = truncate_target(vec, limit, rots_end, mode)
                result[f'reply_cut_{mode}'] += reply_cut(vec, kept, rots_end)
        counts[split] = result
    return counts


def setup_args():
    parser = ParlaiParser(True, True, 'Count the RoT & Response targets a label limit cuts into')
    # the teacher's own options (--prosocial-data-dir) come with the task, found by name
    parser.set_defaults(model='prost', label_truncate=128, task='prosocial:rot_response')
    parser.add_argument('--json', type='bool', default=False, help='print the counts as JSON')
    return parser


class CountTruncation(ParlaiScript):
    @classmethod
    def setup_args(cls):
        return setup_args()

    def run(self):
        counts = count(self.opt)
        if self.opt['json']:
            print(json.dumps(counts, indent=2))
        else:
            limit = self.opt['label_truncate']
            print(f'label_truncate {limit}: targets, longer than the limit, reply cut by the '
                  'end rule (ParlAI), reply cut by the rots rule (Prost\'s default)')
            for split, c in counts.items():
                print(f'{split:6} {c["targets"]:8,} {c["longer"]:8,} {c["reply_cut_end"]:8,} '
                      f'{c["reply_cut_rots"]:8,}')
        return counts


if __name__ == '__main__':
    CountTruncation.main()
