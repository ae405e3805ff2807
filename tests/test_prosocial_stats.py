"""
The statistics command (parlai_prosocial.tasks.prosocial.stats) on the bundled sample, a tiny
hand-made case and, when present, the 5 real rows of the HF viewer export.
"""

import json
import os
import subprocess
import sys

import pytest

from parlai_prosocial.tasks.prosocial.data import SPLIT_FILES, read_dialogues, split_path
from parlai_prosocial.samples import write_sample
from parlai_prosocial.tasks.prosocial.stats import (
    PAPER_STATISTICS,
    ProsocialStats,
    compute_statistics,
    format_statistics,
)
from parlai_prosocial.testing.samples import PROSOCIAL_LAYOUTS

#: the statistics of the bundled sample (parlai_prosocial/samples/prosocial), counted by hand
SAMPLE_STATISTICS = {
    'dialogues': {'train': 4, 'valid': 1, 'test': 1},
    'turns': 11,
    'utterances': 22,
    # RoTs: train 1+2+1+2+2 = 8, valid 1+1 = 2, test 1; all different
    'rots': 11,
    'unique_rots': 11,
    'safety_annotations': 33,
    'safety_labels': {
        '__casual__': 3,
        '__possibly_needs_caution__': 1,
        '__probably_needs_caution__': 2,
        '__needs_caution__': 4,
        '__needs_intervention__': 1,
    },
}

# Counted by hand from the sample: the 22 utterances have 205 words, the 11 RoTs 73 words.
SAMPLE_AVERAGES = {
    'avg_utterances_per_dialogue': 22 / 6,
    'avg_utterance_words': 205 / 22,
    'avg_rot_words': 73 / 11,
    'avg_rots_per_dialogue': 11 / 6,
    'unique_rots_percent': 100.0,
}


def _sample_stats(directory, layout):
    write_sample(PROSOCIAL_LAYOUTS[layout], directory)
    return compute_statistics(
        {split: read_dialogues(split_path(directory, split)) for split in SPLIT_FILES}
    )


def _run(*args, env=None):
    result = subprocess.run(
        [sys.executable, '-m', 'parlai_prosocial.tasks.prosocial.stats', *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _check_sample(stats):
    for key, expected in SAMPLE_STATISTICS.items():
        assert stats[key] == expected, key
    assert stats['dialogues_total'] == sum(SAMPLE_STATISTICS['dialogues'].values())
    for key, expected in SAMPLE_AVERAGES.items():
        assert stats[key] == pytest.approx(expected), key
    labels = SAMPLE_STATISTICS['safety_labels']
    assert stats['three_way_safety_labels'] == {
        '__casual__': labels['__casual__'],
        '__needs_caution__': labels['__possibly_needs_caution__']
        + labels['__probably_needs_caution__']
        + labels['__needs_caution__'],
        '__needs_intervention__': labels['__needs_intervention__'],
    }
    for schema in ('safety_labels', 'three_way_safety_labels'):
        assert stats[schema + '_percent'] == pytest.approx(
            {k: 100 * v / 11 for k, v in stats[schema].items()}
        )


@pytest.mark.parametrize('layout', ['hf', 'parlai'])
def test_sample_statistics(tmp_path, layout):
    _check_sample(_sample_stats(tmp_path, layout))


@pytest.mark.parametrize('layout', ['hf', 'parlai'])
def test_command_json(tmp_path, layout, capsys, monkeypatch):
    # the script's own main in this process (the command line itself: the table's test below)
    monkeypatch.setenv('PARLAI_DATAPATH', str(tmp_path / 'data'))  # (ParlaiParser sets it)
    write_sample(PROSOCIAL_LAYOUTS[layout], tmp_path / 'sample')
    ProsocialStats.main('--prosocial-data-dir', str(tmp_path / 'sample'), '--json')
    _check_sample(json.loads(capsys.readouterr().out))


def test_command_table_reads_env_dir(tmp_path):
    write_sample('prosocial', tmp_path)
    env = dict(os.environ, PROSOCIAL_DATA_DIR=str(tmp_path))
    lines = _run(env=env).splitlines()
    assert lines[0].split() == ['statistic', 'paper', 'ours', 'paper', 'source']
    rows = {line.split()[0]: line.split()[1:3] for line in lines[1:]}
    assert rows['dialogues.train'] == ['42,304', '4']
    assert rows['utterances'] == ['331,362', '22']
    assert rows['avg_utterance_words'] == ['20.00', f'{205 / 22:.2f}']
    assert rows['safety_labels.__casual__'] == ['-', '3']


def test_table_has_one_row_per_number_and_every_paper_number(tmp_path):
    stats = _sample_stats(tmp_path, 'hf')
    table = format_statistics(stats)
    # 3 splits + 11 single numbers + 2 x (5 + 3) label counts and percentages, and a header
    assert len(table.splitlines()) == 1 + 3 + 11 + 16

    def paper_leaves(paper):
        for value in paper.values():
            if isinstance(value, dict):
                yield from paper_leaves(value)
            else:
                yield value

    for value, source in paper_leaves(PAPER_STATISTICS):
        assert source in table


def _turn(rots, label='__needs_caution__'):
    return {
        'context': 'a b c',
        'response': 'd e',
        'rots': rots,
        'safety_label': label,
        'safety_annotations': ['needs caution'] * 3,
        'safety_annotation_reasons': ['r'] * 3,
        'source': 'sbic',
        'etc': '',
    }


def test_unique_rots_across_splits():
    repeated = "It's wrong to lie."
    stats = compute_statistics(
        {
            'train': [[_turn([repeated, 'Be kind.']), _turn([], '__casual__')]],
            'valid': [[_turn([repeated])]],
            # exact match: another case or a trailing space is another RoT
            'test': [[_turn(["it's wrong to lie.", repeated + ' '])]],
        }
    )
    assert stats['rots'] == 5
    assert stats['unique_rots'] == 4
    assert stats['unique_rots_percent'] == pytest.approx(80.0)
    assert stats['avg_rot_words'] == pytest.approx((4 + 2 + 4 + 4 + 4) / 5)
    assert stats['avg_rots_per_dialogue'] == pytest.approx(5 / 3)
    assert stats['dialogues'] == {'train': 1, 'valid': 1, 'test': 1}
    assert stats['turns'] == 4
    assert stats['utterances'] == 8
    assert stats['avg_utterance_words'] == pytest.approx(2.5)
    assert stats['safety_annotations'] == 12
    assert stats['safety_labels']['__casual__'] == 1
    assert stats['three_way_safety_labels'] == {
        '__casual__': 1,
        '__needs_caution__': 3,
        '__needs_intervention__': 0,
    }


def test_no_rots_gives_no_average():
    stats = compute_statistics({'train': [[_turn([], '__casual__')]]})
    assert stats['rots'] == stats['unique_rots'] == 0
    assert stats['avg_rot_words'] is None and stats['unique_rots_percent'] is None
    row = next(r for r in format_statistics(stats).splitlines() if r.startswith('avg_rot_words'))
    assert row.split()[1:3] == ['9.50', '-']


def test_real_hf_rows(real_data):
    real_rows = os.path.join(real_data('prosocial-dialog'), 'hf-columns-sample.json')
    stats = compute_statistics({'train': read_dialogues(real_rows)})
    assert stats['dialogues'] == {'train': 2}
    assert stats['turns'] == 5
    assert stats['utterances'] == 10
    assert stats['safety_annotations'] == 15
    # RoTs by row: 1, 1, 1, 2, 2; rows 4 and 5 carry the same two RoTs
    assert stats['rots'] == 7
    assert stats['unique_rots'] == 5
    assert stats['avg_rot_words'] == pytest.approx((11 + 10 + 8 + 2 * (8 + 9)) / 7)
    assert stats['avg_utterances_per_dialogue'] == 5
    assert stats['safety_labels']['__needs_caution__'] == 5
    assert stats['three_way_safety_labels_percent']['__needs_caution__'] == pytest.approx(100)
