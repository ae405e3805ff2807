"""
Benchmark: streaming a full-size SODA training file through the ``soda`` teacher.

    .venv/bin/python benchmarks/soda_stream/run.py [--rows 1191582] [--dir /tmp/soda_bench]

1. Writes a synthetic ``train.parquet`` in SODA's schema (``parlai_prosocial.tasks.soda.data.
   SCHEMA``) with the real file's row count and, like the real file, ONE row group: 4-20 turns a
   dialogue (mean ~7.6, SODA Table 2), ~16 words an utterance, a 2-3 sentence narrative; the text
   is random slices of a random-word corpus (so it does not compress better than prose).
2. Measures, each in a fresh process (peak RSS: the process's VmHWM):
   * ``pyarrow.parquet.read_table`` of the whole file: the fastest reader, for scale;
   * the teacher's first creation (``cold``): footer checks, the one indexing pass that checks
     every row, counts utterances and copies the single huge row group into 10,000-row chunks;
   * a second creation (``warm``, index cached): time to the first example, then examples per
     second through ``teacher.act()`` over ``--examples`` examples (default 2,000,000 of the
     ~9M; -1 for a whole epoch) in ``train`` (shuffled chunks) and in ``valid`` mode, and the
     peak RSS.

Prints one JSON line per measurement and a Markdown table at the end.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FULL_TRAIN_ROWS = 1191582


def _rss_mb():
    """
    Peak RSS of this process, in MB: VmHWM, the high-water mark of this process's own memory.
    (``getrusage``'s ``ru_maxrss`` would do, but Linux carries it across ``exec``, so a process
    started by a big parent reports the parent's size.)
    """
    try:
        with open('/proc/self/status', encoding='utf-8') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _current_rss_mb():
    with open('/proc/self/status', encoding='utf-8') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024.0
    return None


def generate(path, rows, seed=0, batch_rows=100000):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from parlai_prosocial.tasks.soda.data import SCHEMA

    rng = np.random.default_rng(seed)
    # a random-word corpus with a Zipf-like vocabulary of 20,000 made-up words
    letters = np.array(list('abcdefghijklmnopqrstuvwxyz'))
    vocab = [
        ''.join(rng.choice(letters, size=int(n)))
        for n in rng.integers(2, 10, size=20000)
    ]
    ranks = np.arange(1, len(vocab) + 1)
    probs = (1 / ranks) / (1 / ranks).sum()
    words = rng.choice(len(vocab), size=4_000_000, p=probs)
    corpus = ' '.join(vocab[i] for i in words)
    starts = np.array([0] + [i + 1 for i, c in enumerate(corpus) if c == ' '][:-1])

    def texts(n, mean_words):
        counts = np.clip(rng.poisson(mean_words, size=n), 2, None)
        first = rng.integers(0, len(starts) - 200, size=n)
        begin = starts[first]
        end = starts[first + counts] - 1
        return [corpus[b:e].capitalize() + '.' for b, e in zip(begin, end)]

    names = ['Madeleine', 'Coach', 'Jamal', 'Priya', 'Lena', 'Sam', 'Omar', 'Grace', 'Noah']
    tables = []
    for start in range(0, rows, batch_rows):
        n = min(batch_rows, rows - start)
        turns = np.clip(np.round(rng.gamma(6.0, 1.27, size=n)), 4, 20).astype(np.int64)
        offsets = np.concatenate([[0], np.cumsum(turns)]).astype(np.int32)
        total = int(offsets[-1])
        utterances = pa.array(texts(total, 16), pa.string())
        x = rng.integers(0, len(names), size=n)
        y = (x + 1 + rng.integers(0, len(names) - 1, size=n)) % len(names)
        position = np.arange(total) - np.repeat(offsets[:-1], turns)
        who = np.where(position % 2 == 0, np.repeat(x, turns), np.repeat(y, turns))
        speakers = pa.array(np.array(names, dtype=object)[who], pa.string())
        answers = np.array(['Yes', 'No', 'Unknown'], dtype=object)
        columns = {
            'head': texts(n, 6),
            'relation': np.array(['xReact', 'xIntent', 'xAttr', 'xWant', 'xNeed', 'xEffect'],
                                 dtype=object)[rng.integers(0, 6, size=n)],
            'tail': texts(n, 3),
            'literal': texts(n, 14),
            'narrative': texts(n, 45),
            'dialogue': pa.ListArray.from_arrays(pa.array(offsets), utterances),
            'speakers': pa.ListArray.from_arrays(pa.array(offsets), speakers),
            'PersonX': np.array(names, dtype=object)[x],
            'PersonY': np.where(rng.random(n) < 0.5, np.array(names, dtype=object)[y], None),
            'PersonZ': [None] * n,
            'original_index': np.arange(start, start + n, dtype=np.int64),
            'split': ['train'] * n,
            'head_answer': answers[(rng.random(n) < 0.05).astype(int) * 2],
            'pmi_head_answer': answers[rng.choice(3, size=n, p=[0.9, 0.05, 0.05])],
            'relation_tail_answer': answers[rng.choice(3, size=n, p=[0.68, 0.2, 0.12])],
            'pmi_relation_tail_answer': answers[rng.choice(3, size=n, p=[0.6, 0.2, 0.2])],
        }
        tables.append(
            pa.table(
                [pa.array(columns[f.name], f.type) if not isinstance(columns[f.name], pa.Array)
                 else columns[f.name] for f in SCHEMA],
                schema=SCHEMA,
            )
        )
    table = pa.concat_tables(tables)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # one row group for the whole file, as the released train.parquet appears to be
    pq.write_table(table, path, row_group_size=table.num_rows)
    return {
        'rows': table.num_rows,
        'utterances': int(
            sum(len(t.column('dialogue').combine_chunks().flatten()) for t in tables)
        ),
        'bytes': os.path.getsize(path),
        'row_groups': pq.ParquetFile(path).metadata.num_row_groups,
    }


def measure_read_table(path):
    import pyarrow.parquet as pq

    start = time.perf_counter()
    table = pq.read_table(path)
    seconds = time.perf_counter() - start
    return {'what': 'pyarrow.parquet.read_table', 'rows': table.num_rows, 'seconds': seconds,
            'peak_rss_mb': _rss_mb()}


def measure_teacher(data_dir, cache_dir, datatype, max_examples, what):
    from parlai.core.params import ParlaiParser

    from parlai_prosocial.tasks.soda.agents import SodaTeacher

    start = time.perf_counter()
    opt = ParlaiParser(True, True).parse_kwargs(
        task='soda', datatype=datatype, soda_data_dir=data_dir, soda_cache_dir=cache_dir,
        model='fixed_response', fixed_response='none',
    )
    teacher = SodaTeacher(opt)
    created = time.perf_counter() - start
    rss_created = _rss_mb()
    result = {'what': what, 'datatype': datatype, 'create_seconds': created,
              'num_examples': teacher.num_examples(), 'rss_after_create_mb': rss_created}
    if max_examples == 0:
        result['peak_rss_mb'] = _rss_mb()
        teacher.shutdown()
        return result
    total = teacher.num_examples() if max_examples < 0 else max_examples
    act = teacher.act()
    first = time.perf_counter() - start
    n = 1
    stream_start = time.perf_counter()
    rss_by_examples = {}
    while n < total:
        act = teacher.act()
        if act.is_padding():
            break
        n += 1
        if n % 500000 == 0:
            rss_by_examples[n] = _current_rss_mb()
    stream_seconds = time.perf_counter() - stream_start
    teacher.shutdown()
    result.update({'first_example_seconds': first, 'examples': n,
                   'stream_seconds': stream_seconds,
                   'examples_per_second': (n - 1) / stream_seconds,
                   'rss_mb_after_examples': rss_by_examples,
                   'peak_rss_mb': _rss_mb()})
    return result


def _in_subprocess(args):
    out = subprocess.run([sys.executable, __file__] + args, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(out.stdout[-2000:] + out.stderr[-4000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('--rows', type=int, default=FULL_TRAIN_ROWS)
    parser.add_argument('--dir', default='/tmp/soda_bench')
    parser.add_argument('--keep', action='store_true', help='reuse an existing generated file')
    parser.add_argument(
        '--examples',
        type=int,
        default=2000000,
        help='examples to stream in each warm run (-1: a whole epoch)',
    )
    from parlai_prosocial import results as results_file

    results_file.add_output_arguments(parser, 'only DIR/results.json')
    parser.add_argument('--_measure', nargs='+', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._measure:
        kind = args._measure[0]
        if kind == 'read_table':
            result = measure_read_table(args._measure[1])
        else:
            data_dir, cache_dir, datatype, max_examples, what = args._measure[1:]
            result = measure_teacher(data_dir, cache_dir, datatype, int(max_examples), what)
        print(json.dumps(result))
        return
    results_file.check_output(
        parser, args.results, args.overwrite, os.path.join(args.dir, 'results.json')
    )
    path = os.path.join(args.dir, 'train.parquet')
    cache = os.path.join(args.dir, 'cache')
    results = []
    if not (args.keep and os.path.exists(path)):
        start = time.perf_counter()
        info = generate(path, args.rows)
        info.update({'what': 'generate', 'seconds': time.perf_counter() - start})
        print(json.dumps(info), flush=True)
        results.append(info)
    # valid mode reads valid.parquet: the same file under that name too
    valid = os.path.join(args.dir, 'valid.parquet')
    if not os.path.exists(valid):
        os.link(path, valid)
    if os.path.isdir(cache):
        for name in os.listdir(cache):
            os.remove(os.path.join(cache, name))
    steps = [
        ['read_table', path],
        ['teacher', args.dir, cache, 'train', '0', 'cold: first creation (index + re-chunk)'],
        ['teacher', args.dir, cache, 'train', str(args.examples), 'warm: train (shuffled)'],
        ['teacher', args.dir, cache, 'valid', '0', 'cold: first creation (index + re-chunk)'],
        ['teacher', args.dir, cache, 'valid', str(args.examples), 'warm: valid (in order)'],
    ]
    for step in steps:
        result = _in_subprocess(['--_measure'] + step)
        print(json.dumps(result), flush=True)
        results.append(result)
    write_results(args, results)


def write_results(args, measured):
    """
    The results file (format of :mod:`parlai_prosocial.results`) with the README's table.
    """
    from parlai_prosocial import results as results_file

    by_what = {}
    for r in measured:
        by_what.setdefault((r.get('what'), r.get('datatype')), r)
    rows = []
    read = by_what.get(('pyarrow.parquet.read_table', None))
    if read:
        rows.append(['`pyarrow.parquet.read_table` (whole file into memory)', read['seconds'],
                     None, read['peak_rss_mb']])
    cold = by_what.get(('cold: first creation (index + re-chunk)', 'train'))
    if cold:
        rows.append(['teacher, first creation (index + re-chunk, once per file version)',
                     cold['create_seconds'], None, cold['peak_rss_mb']])
    for datatype, label in (('train', 'train (shuffled chunks)'), ('valid', 'valid (file order)')):
        what = 'warm: train (shuffled)' if datatype == 'train' else 'warm: valid (in order)'
        warm = by_what.get((what, datatype))
        if warm and 'examples' in warm:
            rows.append([f'teacher, warm, `{label}`: first example', warm['first_example_seconds'],
                         None, None])
            rows.append([f"teacher, warm, `{datatype}`: {warm['examples']:,} examples",
                         warm['stream_seconds'], warm['examples_per_second'],
                         warm['peak_rss_mb']])
    generated = next((r for r in measured if r.get('what') == 'generate'), None)
    file_rows = []
    if generated:
        file_rows.append(['rows', generated['rows']])
        file_rows.append(['utterances (examples per epoch)', generated['utterances']])
        file_rows.append(['row groups', generated['row_groups']])
        file_rows.append(['size (MB)', generated['bytes'] / 1e6])
        file_rows.append(['seconds to generate', generated['seconds']])
    tables = {
        'stream': results_file.table(
            ['', 'seconds', 'examples / s', 'peak RSS (MB)'], rows,
            formats=[None, '.2f', ',.0f', ',.0f'], align='lrrr'),
    }
    warm_train = by_what.get(('warm: train (shuffled)', 'train'))
    if warm_train and warm_train.get('rss_mb_after_examples'):
        tables['rss'] = results_file.table(
            ['`train` examples streamed', 'current RSS (MB)'],
            [[int(n), mb] for n, mb in sorted(warm_train['rss_mb_after_examples'].items(),
                                               key=lambda kv: int(kv[0]))],
            formats=[',d', ',.0f'])
    if file_rows:
        tables['file'] = results_file.table(['synthetic file', ''], file_rows,
                                            formats=[None, ',.0f'])
    command = 'python benchmarks/soda_stream/run.py ' + ' '.join(sys.argv[1:])
    written = results_file.write(
        os.path.join(args.dir, 'results.json'), name='soda_stream', script=__file__,
        commands=[command], numbers={'measurements': measured, 'examples': args.examples},
        tables=tables, seeds=[0],
    )
    results_file.publish(written, args.results)


if __name__ == '__main__':
    main()
