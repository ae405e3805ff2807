"""
A small hand-written Commonsense Norm Bank sample in the release's schema: the six tab-separated
files ``{train,validation,test}.moral_acceptability.tsv`` (free-form mode: ``input_sequence``,
``class_label``, ``text_label``, ``input_type``, ``format``, ``source``) and
``{train,validation,test}.moral_agreement.tsv`` (yes/no mode: the same without ``format``), with a
header, quoted as pandas writes them. The rows are made up (in the style of the datasheet's
examples); they cover the three class labels, a field with a quote and both modes in each split.

    python -m parlai_prosocial.tasks.norm_bank.sample DIR
"""

import csv
import os

from .data import file_name

FREEFORM_COLUMNS = ('input_sequence', 'class_label', 'text_label', 'input_type', 'format', 'source')
YESNO_COLUMNS = ('input_sequence', 'class_label', 'text_label', 'input_type', 'source')


def _ff(text, label, judgment, source='social_chem', fmt='{action}'):
    return dict(zip(FREEFORM_COLUMNS, (text, str(label), judgment, 'action', fmt, source)))


def _yn(text, label, judgment, input_type='positive_rot', source='social_chem'):
    return dict(zip(YESNO_COLUMNS, (text, str(label), judgment, input_type, source)))


SAMPLE = {
    ('train', 'freeform'): [
        _ff('helping a friend move', 1, "it's good"),
        _ff('calling 911 just for fun', -1, "it's wrong"),
        _ff('eating pizza for breakfast', 0, "it's okay"),
        _ff('telling my kid there are "monsters" under the bed', -1, "you shouldn't", 'ethics', 'Is {action} ok?'),
    ],
    ('train', 'yesno'): [
        _yn("It's wrong to cheat on a test.", 1, 'Yes, it is wrong'),
        _yn('Women cannot be scientists.', -1, "No, women can", 'negative_rot', 'sbic'),
    ],
    ('validation', 'freeform'): [
        _ff('lying to my boss to skip work', -1, "it's bad"),
        _ff('donating blood', 1, "it's admirable", 'moral_stories'),
    ],
    ('validation', 'yesno'): [
        _yn("It's kind to express concern over your neighbor's friends.", 1, 'Yes, it is kind'),
    ],
    ('test', 'freeform'): [
        _ff('ignoring a phone call from my mother', -1, "it's rude", 'scruples'),
    ],
    ('test', 'yesno'): [
        _yn("You shouldn't scare your kids.", 1, 'Yes, you shouldn\'t'),
    ],
}


def write_sample(directory, sample=SAMPLE):
    """
    Write the six files of ``sample`` to ``directory``; return the directory.
    """
    os.makedirs(str(directory), exist_ok=True)
    for (split, mode), rows in sample.items():
        columns = FREEFORM_COLUMNS if mode == 'freeform' else YESNO_COLUMNS
        path = os.path.join(str(directory), file_name(split, mode))
        with open(path, 'w', encoding='utf-8', newline='') as f:
            writer = csv.DictWriter(f, fieldnames=columns, delimiter='\t', lineterminator='\n')
            writer.writeheader()
            writer.writerows(rows)
    return str(directory)


if __name__ == '__main__':
    import argparse

    parser = argparse.ArgumentParser(description='Write the Commonsense Norm Bank test sample.')
    parser.add_argument('directory')
    print(write_sample(parser.parse_args().directory))
