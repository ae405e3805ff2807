"""
The dataset statistics of the README (``projects/prosocial_dialog/README.md``), computed, beside
the paper's: on the bundled hand-written sample (``parlai_prosocial/samples/prosocial``, which
tests the counting) and on the five real rows of ProsocialDialog in ``../shared/data/prosocial-dialog``
(the HF column export). The full data is not available offline; on it, run
``python -m parlai_prosocial.tasks.prosocial.stats --prosocial-data-dir DIR``.

    python projects/prosocial_dialog/dataset_stats.py     # prints the table; the file goes to /tmp
    python projects/prosocial_dialog/dataset_stats.py \\
        --results projects/prosocial_dialog/dataset_stats.json --overwrite   # the committed one
    python -m parlai_prosocial.results render            # the README table from it
"""

import argparse
import os
import sys
import tempfile

from parlai_prosocial import results
from parlai_prosocial.samples import write_sample
from parlai_prosocial.tasks.prosocial.data import SPLIT_FILES, read_dialogues, split_path
from parlai_prosocial.tasks.prosocial.stats import (
    PAPER_STATISTICS,
    compute_statistics,
    format_value,
    statistic_rows,
)

REAL_ROWS = os.path.join(
    results.REPO, '..', 'shared', 'data', 'prosocial-dialog', 'hf-columns-sample.json'
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    results.add_output_arguments(parser, 'a new file in a temporary directory')
    args = parser.parse_args(argv)
    results.check_output(parser, args.results, args.overwrite)
    path = args.results or os.path.join(
        tempfile.mkdtemp(prefix='dataset_stats_'), 'dataset_stats.json'
    )
    if not os.path.isfile(REAL_ROWS):
        sys.exit(f'dataset_stats: {os.path.normpath(REAL_ROWS)} is not here (../shared/data)')
    with tempfile.TemporaryDirectory() as directory:
        write_sample('prosocial', directory)
        sample = compute_statistics(
            {split: read_dialogues(split_path(directory, split)) for split in SPLIT_FILES}
        )
    real = compute_statistics({'train': read_dialogues(REAL_ROWS)})
    real_rows = {name: value for name, _, value, _ in statistic_rows(real, PAPER_STATISTICS)}
    rows = [
        [name, format_value(paper), format_value(ours), format_value(real_rows.get(name)), source]
        for name, paper, ours, source in statistic_rows(sample, PAPER_STATISTICS)
    ]
    table = results.table(
        ['statistic', 'paper', 'bundled sample', '5 real rows (HF)', 'paper source'],
        rows,
        align='lrrrl',
    )
    written = results.write(
        path,
        'dataset_stats',
        __file__,
        commands=['python -m parlai_prosocial.tasks.prosocial.stats (compute_statistics)'],
        numbers={'bundled_sample': sample, 'real_rows': real},
        tables={'dataset_stats': table},
    )
    results.publish(written)
    print(f'written to {path}')


if __name__ == '__main__':
    main()
