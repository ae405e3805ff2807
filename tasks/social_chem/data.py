"""
Reading Social Chemistry 101 (Forbes et al., EMNLP 2020), the first of Canary's three norm
pre-training corpora (ProsocialDialog paper §4.1, App. B.1).

The release (``social-chem-101.zip`` from the official repository's README, mbforbes/
social-chemistry-101) holds one tab-separated file, ``social-chem-101.v1.0.tsv``, with a header
line and one row per RoT breakdown; its columns, in order::

    area  m  split  rot-agree  rot-categorization  rot-moral-foundations  rot-char-targeting
    rot-bad  rot-judgment  action  action-agency  action-moral-judgment  action-agree
    action-legal  action-pressure  action-char-involved  action-hypothetical  situation
    situation-short-id  rot  rot-id  rot-worker-id  breakdown-worker-id  n-characters  characters

``split`` is ``train``, ``dev`` or ``test``; multi-valued attributes (``rot-categorization``,
``rot-moral-foundations``, ``characters``) join their values with ``|``; attributes a worker did
not give are empty.

What is checked (a :class:`SocialChemDataError` names the file, the line, the ``rot-id`` where
there is one, and the field): the file and its header (the columns :data:`REQUIRED` below), every
record's number of fields, ``split`` one of the three, ``situation``, ``rot`` and ``rot-id``
non-empty, ``rot-bad`` ``0`` or ``1``, ``rot-agree`` a whole number from 0 to 4 (``4`` or
``4.0``, kept as ``4``) or empty. Other values (the attributes) are kept as they are.

What is read: one norm per ``rot-id`` (the release repeats a RoT on one row per breakdown when
several workers broke it down; the first row is kept), with its situation and attributes. A
further row of a rot-id with another split, situation or RoT is kept and counted as an anomaly
(``--social-chem-anomalies``).
"""

from parlai_prosocial import errors
from parlai_prosocial.data_files import Anomalies
from parlai_prosocial.tasks.norm_corpora import (
    read_table,
    require_choice,
    require_int,
    require_text,
)

FILE = 'social-chem-101.v1.0.tsv'

#: ParlAI datatype -> the release's split name
SPLITS = {'train': 'train', 'valid': 'dev', 'test': 'test'}

#: the columns the teacher reads (the release has more; see the module docstring)
REQUIRED = (
    'area',
    'split',
    'rot-agree',
    'rot-categorization',
    'rot-moral-foundations',
    'rot-bad',
    'rot-judgment',
    'situation',
    'situation-short-id',
    'rot',
    'rot-id',
)

OBTAIN = (
    'Social Chemistry 101 is downloaded without options; or unzip '
    'https://storage.googleapis.com/ai2-mosaic-public/projects/social-chemistry/data/'
    'social-chem-101.zip and pass the folder holding social-chem-101.v1.0.tsv with '
    '--social-chem-data-dir'
)


class SocialChemDataError(errors.ProsocialDataError):
    """
    A Social Chemistry 101 file that cannot be read as it is.
    """


#: the anomaly of a rot-id whose rows disagree (see :func:`read_file`)
ROT_ID_AGAIN = 'rot-id again with another split, situation or RoT (kept as a norm of its own)'


def read_norms(path):
    """
    ``{split: [norm, ...]}`` of the file (:func:`read_file`).
    """
    return read_file(path)[0]


def read_file(path):
    """
    ``({split: [norm, ...]}, anomalies)``: one norm (a dict) per ``rot-id``, in file order (a
    further row of a rot-id is another worker's breakdown of the same RoT, left out); a further
    row whose split, situation or RoT differ from the first's is no such repeat: it is kept as a
    norm of its own and counted (:data:`ROT_ID_AGAIN`), never dropped unseen.
    """
    by_split = {name: [] for name in SPLITS.values()}
    seen, ids = set(), set()
    anomalies = Anomalies()
    for where, row in read_table(path, '\t', REQUIRED, SocialChemDataError, OBTAIN):
        rot_id = row['rot-id'].strip()
        if rot_id:
            where = f'{where} (rot-id {rot_id})'
        split = require_choice(row, 'split', tuple(by_split), where, SocialChemDataError)
        situation = require_text(row, 'situation', where, SocialChemDataError)
        rot = require_text(row, 'rot', where, SocialChemDataError)
        rot_id = require_text(row, 'rot-id', where, SocialChemDataError)
        rot_bad = require_choice(row, 'rot-bad', ('0', '1'), where, SocialChemDataError)
        rot_agree = require_int(row, 'rot-agree', 0, 4, where, SocialChemDataError)
        norm = (rot_id, split, situation, rot)
        if norm in seen:
            continue
        seen.add(norm)
        if rot_id in ids:
            anomalies.add(ROT_ID_AGAIN, where)
        ids.add(rot_id)
        by_split[split].append(
            {
                'situation': situation,
                'rot': rot,
                'rot_id': rot_id,
                'rot_bad': rot_bad == '1',
                'area': row['area'].strip(),
                'situation_short_id': row['situation-short-id'].strip(),
                'rot_categorization': _values(row['rot-categorization']),
                'rot_moral_foundations': _values(row['rot-moral-foundations']),
                'rot_agree': '' if rot_agree is None else str(rot_agree),
                'rot_judgment': row['rot-judgment'].strip(),
            }
        )
    return by_split, anomalies


def _values(field):
    return [v.strip() for v in field.split('|') if v.strip()]
