"""
A small hand-written Social Chemistry 101 sample in the release's exact schema: the tab-separated
``social-chem-101.v1.0.tsv`` with all 25 columns of the release in its order, quoted as pandas
writes it (a field holding a quote is quoted, inner quotes doubled). The rows are made up; they
cover the three splits, a RoT broken down twice (two rows, one ``rot-id``), a RoT marked
``rot-bad``, multi-valued attributes and empty attributes.

    python -m parlai_prosocial.tasks.social_chem.sample DIR
"""

import csv
import os

from .data import FILE

COLUMNS = (
    'area', 'm', 'split', 'rot-agree', 'rot-categorization', 'rot-moral-foundations',
    'rot-char-targeting', 'rot-bad', 'rot-judgment', 'action', 'action-agency',
    'action-moral-judgment', 'action-agree', 'action-legal', 'action-pressure',
    'action-char-involved', 'action-hypothetical', 'situation', 'situation-short-id', 'rot',
    'rot-id', 'rot-worker-id', 'breakdown-worker-id', 'n-characters', 'characters',
)


def _row(split, situation, sid, rot, rot_id, categorization='morality-ethics',
         foundations='care-harm', agree='4', judgment="it's bad", bad='0', area='rocstories',
         m='1', breakdown='7'):
    return {
        'area': area, 'm': m, 'split': split, 'rot-agree': agree,
        'rot-categorization': categorization, 'rot-moral-foundations': foundations,
        'rot-char-targeting': 'char-0', 'rot-bad': bad, 'rot-judgment': judgment,
        'action': rot.split(' to ', 1)[-1].rstrip('.'), 'action-agency': 'agency',
        'action-moral-judgment': '-1', 'action-agree': agree, 'action-legal': 'legal',
        'action-pressure': '-1', 'action-char-involved': 'char-0',
        'action-hypothetical': 'explicit', 'situation': situation,
        'situation-short-id': sid, 'rot': rot, 'rot-id': rot_id, 'rot-worker-id': '11',
        'breakdown-worker-id': breakdown, 'n-characters': '2', 'characters': 'narrator|my friend',
    }


ROWS = [
    _row('train', 'hoping to spam others', 'reddit/confessions/a1', "It's bad to intentionally disrupt others.", 'rot/reddit/confessions/a1/1/1/'),
    _row('train', 'telling my kid there are monsters under the bed', 'reddit/amitheasshole/a2', "You shouldn't scare your kids.", 'rot/reddit/amitheasshole/a2/1/1/', categorization='social-norms|advice', foundations='care-harm|fairness-cheating', m='3'),
    # the same RoT broken down by a second worker: one norm
    _row('train', 'telling my kid there are monsters under the bed', 'reddit/amitheasshole/a2', "You shouldn't scare your kids.", 'rot/reddit/amitheasshole/a2/1/1/', categorization='social-norms', m='3', breakdown='8'),
    _row('train', 'asking my friend to "borrow" his car for a month', 'reddit/amitheasshole/a3', 'It is rude to keep things you borrowed for too long.', 'rot/reddit/amitheasshole/a3/2/1/', categorization='etiquette', foundations='', agree='3', judgment="it's rude"),
    # marked bad by the workers: left out unless asked for
    _row('train', 'eating lunch', 'rocstories/a4', 'Lunch.', 'rot/rocstories/a4/1/1/', bad='1', categorization='', foundations='', agree='', judgment=''),
    _row('train', 'helping a neighbour carry groceries', 'rocstories/a5', "It's good to help people who need it.", 'rot/rocstories/a5/1/1/', foundations='care-harm', judgment="it's good"),
    _row('dev', 'not inviting my sister to my wedding', 'reddit/amitheasshole/b1', 'Family should be included in big life events.', 'rot/reddit/amitheasshole/b1/1/1/', foundations='loyalty-betrayal', area='amitheasshole'),
    _row('dev', 'cheating on a test', 'dearabby/b2', "It's wrong to cheat.", 'rot/dearabby/b2/1/1/', foundations='fairness-cheating', agree='5', area='dearabby'),
    _row('test', 'calling 911 just for fun', 'reddit/confessions/c1', 'It is wrong to call 911 just for fun.', 'rot/reddit/confessions/c1/1/1/', foundations='authority-subversion|care-harm'),
    _row('test', 'taking credit for a coworker\'s idea', 'reddit/amitheasshole/c2', "You shouldn't take credit for other people's work.", 'rot/reddit/amitheasshole/c2/1/1/', foundations='fairness-cheating'),
]


def write_sample(directory, rows=ROWS):
    """
    Write ``social-chem-101.v1.0.tsv`` with ``rows`` to ``directory``; return the directory.
    """
    os.makedirs(str(directory), exist_ok=True)
    with open(os.path.join(str(directory), FILE), 'w', encoding='utf-8', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, delimiter='\t', lineterminator='\n')
        writer.writeheader()
        writer.writerows(rows)
    return str(directory)


if __name__ == '__main__':
    import argparse

    parser = argparse.ArgumentParser(description='Write the Social Chemistry 101 test sample.')
    parser.add_argument('directory')
    print(write_sample(parser.parse_args().directory))
