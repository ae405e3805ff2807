"""
A small hand-written MIC sample in the release's schema: ``MIC.csv``, comma-separated with a header,
quoted as pandas writes it, with the columns the release's code reads (``Q``, ``A``, ``rot``,
``moral``, ``rot-agree``, ``violation-severity``, ``A_agrees``, ``QA``, ``split``). The rows are
made up; they cover the three splits, two RoTs of one reply, a field with a comma and quotes, a
reply over two lines, and an annotation left empty.

    python -m parlai_prosocial.tasks.mic.sample DIR
"""

import csv
import os

from .data import FILE

COLUMNS = ('Q', 'A', 'rot', 'moral', 'rot-agree', 'violation-severity', 'A_agrees', 'QA', 'split')


def _row(split, q, a, rot, moral='care', agree='4', severity='3', a_agrees='2'):
    return {
        'Q': q, 'A': a, 'rot': rot, 'moral': moral, 'rot-agree': agree,
        'violation-severity': severity, 'A_agrees': a_agrees, 'QA': f'Q: {q} A: {a}',
        'split': split,
    }


ROWS = [
    _row('train', 'What would you do if you found a wallet?', 'I would keep the money, finders keepers.', 'It is wrong to keep things that belong to others.', 'fairness', '5', '4', '0'),
    _row('train', 'What would you do if you found a wallet?', 'I would keep the money, finders keepers.', 'You should return lost property to its owner.', 'fairness|authority', '4', '3', '0'),
    _row('train', 'Is it ok to lie to your "best" friend?', 'Sometimes, if it protects them.\nBut not often.', 'It is okay to tell white lies to spare feelings.', 'care|loyalty', '3', '2', '2'),
    _row('train', 'How do you treat waiters?', 'I am always polite and tip well.', "It's good to be kind to service workers.", 'care', '5', '1', '2'),
    _row('dev', 'Should parents read their teen\'s texts?', 'Yes, parents should know everything.', 'Teenagers deserve some privacy.', 'liberty', '4', '3', '0'),
    _row('dev', 'What is the best way to get revenge?', 'Just forgive and move on.', 'It is better to forgive than to seek revenge.', 'care', '4', '', '2'),
    _row('test', 'Would you cheat on a test if you could?', 'No, cheating is unfair to others.', "It's wrong to cheat.", 'fairness', '5', '4', '2'),
]


def write_sample(directory, rows=ROWS):
    """
    Write ``MIC.csv`` with ``rows`` to ``directory``; return the directory.
    """
    os.makedirs(str(directory), exist_ok=True)
    with open(os.path.join(str(directory), FILE), 'w', encoding='utf-8', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator='\n')
        writer.writeheader()
        writer.writerows(rows)
    return str(directory)


if __name__ == '__main__':
    import argparse

    parser = argparse.ArgumentParser(description='Write the MIC test sample.')
    parser.add_argument('directory')
    print(write_sample(parser.parse_args().directory))
