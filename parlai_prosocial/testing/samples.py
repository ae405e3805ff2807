"""
The packaged samples (:mod:`parlai_prosocial.samples`) read back as Python values: what a test
expects a teacher to make of them, and rows a test edits into a file of its own.
"""

import csv
import json
import os

from parlai_prosocial.samples import sample_dir

#: ProsocialDialog's two official layouts -> the sample in it
PROSOCIAL_LAYOUTS = {'hf': 'prosocial', 'parlai': 'prosocial_dialog'}


def read_sample_file(name, file):
    """
    File ``file`` of sample ``name``: JSON Lines (``.jsonl``, and ProsocialDialog's HF ``.json``
    files) -> its objects; other JSON -> its value; CSV / TSV -> a dict of strings per row;
    parquet -> a dict per row.
    """
    path = os.path.join(sample_dir(name), file)
    if file.endswith('.parquet'):
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    if file.endswith(('.csv', '.tsv')):
        with open(path, encoding='utf-8', newline='') as f:
            return list(csv.DictReader(f, delimiter='\t' if file.endswith('.tsv') else ','))
    with open(path, encoding='utf-8') as f:
        if file.endswith('.jsonl') or name == 'prosocial':
            return [json.loads(line) for line in f]
        return json.load(f)


def split_files(name, files):
    """
    split -> the rows of that split's file, for ``files`` (split -> file name, a task's
    ``SPLIT_FILES``).
    """
    return {split: read_sample_file(name, file) for split, file in files.items()}


def prosocial_dialogues():
    """
    split -> the dialogues of the ProsocialDialog sample, each the list of its HF rows.
    """
    sample = {}
    for split in ('train', 'valid', 'test'):
        dialogues = sample[split] = []
        for row in read_sample_file('prosocial', f'{split}.json'):
            if row['response_id'] == 0:
                dialogues.append([])
            dialogues[-1].append(row)
    return sample
