#!/usr/bin/env python
"""
Loading cost of the ProsocialDialog teacher at the real training-set size (issue 11 §4).

    python benchmarks/prosocial_load/run.py --out OUT [--results benchmarks/prosocial_load/results.json]

Writes a synthetic ``train.json`` in the HF JSON Lines schema with ProsocialDialog's 120,236
training rows (the bundled sample's dialogues repeated, each copy with its own dialogue id and an
id appended to its context, so no two rows are equal) and the same content in the direct-download
layout that ParlAI's built-in ``prosocial_dialog`` teacher reads. Then measures, each in a new
process (peak RSS = the process's ``VmHWM``):

* ``bare``: ``json.loads`` of every line of the file (the floor of reading it);
* ``bare_kept``: the same, keeping every row (with the garbage collector paused, as our readers
  do): the floor of any reader that keeps the data;
* ``ours``: ``-t prosocial`` (``prosocial:response``), from teacher creation (reading and
  validating the file) to the end of one ``train:ordered`` epoch through ``act()``;
* ``builtin``: ParlAI's ``-t prosocial_dialog`` on the same content, the same way, but for an
  epoch's worth of ``act()`` calls rather than its ``epoch_done()`` (see :func:`acts`);
* ``bare_direct`` and ``ours_direct``: the same two for the direct download's file (``json.load``
  of it; our teacher's creation with ``--prosocial-data-dir`` of it), the layout a download gets;
* ``floor``: a do-nothing teacher (``FixedDialogTeacher``) serving our teacher's messages (built
  before the clock starts) from memory through ``act()``: what one epoch through ParlAI's
  ``act()`` costs with no reading at all;
* ``parts``: the steps of our reading, timed one by one in one process.

``--repeats`` runs of each (median reported, min and max beside it). The targets of the issue:
our reading and validation (creation) at most 2x the bare parse, our whole epoch at most 1.25x
(bare parse + floor).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

TRAIN_ROWS = 120236

#: the steps of our reading that ``reading_parts`` times, as the README names them
PARTS = {
    'parse': 'decode and type-check every row (`data_files.json_lines`: msgspec per line against '
             'the row schema, `prosocial_rows.ROW_FIELDS`; one colon count for the whole file)',
    'rows': 'one pass over the rows: dialogues, order, numbering, `episode_done`, soft anomalies, '
            'quick repeat test (`_dialogues`)',
    'repeats': 'exact repeat check (`_check_repeats`): run only when the quick test flags a '
               'possible repeat; timed here anyway',
}


def _peak_rss_mb():
    with open('/proc/self/status', encoding='utf-8') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024.0
    return None


def synthetic_train(rows):
    """
    ``rows`` HF rows: the sample's training dialogues repeated (the last one cut to fit), copy N
    with dialogue id N and `` (N)`` after its contexts; and the number of dialogues.
    """
    from parlai_prosocial.testing.samples import prosocial_dialogues

    sample = prosocial_dialogues()['train']
    train, i = [], 0
    while len(train) < rows:
        dialogue = sample[i % len(sample)][: rows - len(train)]
        for turn in dialogue:
            train.append(dict(turn, context=f"{turn['context']} ({i})", dialogue_id=i,
                              episode_done=turn is dialogue[-1]))
        i += 1
    return train, i


def direct_download_layout(rows):
    """
    HF rows as the direct download lays them out: a list of dialogues of ParlAI messages.
    """
    from parlai_prosocial.prosocial_rows import DIRECT_DOWNLOAD_FIELDS

    dialogues = []
    for row in rows:
        if row['response_id'] == 0:
            dialogues.append([])
        dialogues[-1].append({'text': row['context'], 'labels': [row['response']]})
        dialogues[-1][-1].update((field, row[field]) for field in DIRECT_DOWNLOAD_FIELDS
                                 if field not in ('text', 'labels'))
        dialogues[-1][-1]['episode_done'] = row['episode_done']
    return dialogues


def write_hf(directory, train):
    """
    The sample in the HF layout with ``train`` (HF rows) as its ``train.json``; returns the
    directory.
    """
    from parlai_prosocial.samples import write_sample

    write_sample('prosocial', directory)
    with open(os.path.join(directory, 'train.json'), 'w', encoding='utf-8') as f:
        f.writelines(json.dumps(row) + '\n' for row in train)
    return directory


def write_data(out, rows):
    from parlai.core import build_data

    from parlai_prosocial.samples import write_sample

    train, dialogues = synthetic_train(rows)
    hf_dir = write_hf(os.path.join(out, 'hf'), train)
    datapath = os.path.join(out, 'datapath')
    builtin_dir = write_sample('prosocial_dialog', os.path.join(datapath, 'prosocial_dialog'))
    with open(os.path.join(builtin_dir, 'train.json'), 'w', encoding='utf-8') as f:
        json.dump(direct_download_layout(train), f, indent=1)
    build_data.mark_done(builtin_dir, version_string='0.1')  # ParlAI's build: nothing to download
    return hf_dir, datapath, dialogues


def epoch(teacher):
    n = 0
    while not teacher.epoch_done():
        message = teacher.act()
        if not message.get('batch_padding'):
            n += 1
    return n


def acts(teacher, n):
    """
    ``n`` messages through ``act()``: an epoch's worth for ParlAI's ``prosocial_dialog``, whose
    ``__init__`` sets its datatype to the bare fold (``'train'`` for ``train:ordered``), so it
    samples episodes at random and its ``epoch_done()`` does not mark one pass over the data.
    """
    for _ in range(n):
        teacher.act()
    return n


def reading_parts(path):
    """
    Seconds of each step of our reading of ``path`` (what teacher creation spends on the file).
    """
    from parlai_prosocial import data_files as local_data
    from parlai_prosocial.prosocial_rows import ROW_FIELDS
    from parlai_prosocial.tasks.prosocial import data

    def where(key):
        return f'{path}: line {key}'

    seconds = {}
    with local_data.gc_paused():
        start = time.perf_counter()
        rows = list(local_data.json_lines(path, data.ProsocialDataError, ROW_FIELDS))
        seconds['parse'] = time.perf_counter() - start
        start = time.perf_counter()
        dialogues, _ = data._dialogues(iter(rows), where, path)
        seconds['rows'] = time.perf_counter() - start
        start = time.perf_counter()
        data._check_repeats(dialogues, lambda d, t: f'dialogue {d}, turn {t}')
        seconds['repeats'] = time.perf_counter() - start
    return seconds


def measure(kind, hf_dir, datapath):
    path = os.path.join(hf_dir, 'train.json')
    start = time.perf_counter()
    if kind == 'bare':
        with open(path, encoding='utf-8') as f:
            n = sum(1 for line in f if json.loads(line) is not None)
        return {'seconds': time.perf_counter() - start, 'examples': n,
                'peak_rss_mb': _peak_rss_mb()}
    if kind == 'bare_direct':
        with open(os.path.join(datapath, 'prosocial_dialog', 'train.json'), encoding='utf-8') as f:
            n = sum(map(len, json.load(f)))
        return {'seconds': time.perf_counter() - start, 'examples': n}
    if kind == 'bare_kept':
        from parlai_prosocial.data_files import gc_paused

        with gc_paused(), open(path, encoding='utf-8') as f:
            rows = [json.loads(line) for line in f]
        return {'seconds': time.perf_counter() - start, 'examples': len(rows),
                'peak_rss_mb': _peak_rss_mb()}
    if kind == 'floor':
        from parlai.core.teachers import FixedDialogTeacher

        from parlai_prosocial.testing import teacher_opt

        # exactly our teacher's messages, built before the clock starts
        import importlib

        from parlai.core.teachers import create_task_agent_from_taskname

        importlib.import_module('parlai.tasks.prosocial.agents')
        ours = create_task_agent_from_taskname(
            teacher_opt('prosocial', 'train:ordered', prosocial_data_dir=hf_dir)
        )[0]
        episodes = [
            [dict(ours.get(e, t)) for t in range(len(dialogue))]
            for e, dialogue in enumerate(ours.episodes)
        ]

        class MemoryTeacher(FixedDialogTeacher):
            def __init__(self, opt, shared=None):
                super().__init__(opt, shared)
                self.reset()

            def num_episodes(self):
                return len(episodes)

            def num_examples(self):
                return sum(len(e) for e in episodes)

            def get(self, episode_idx, entry_idx=0):
                return episodes[episode_idx][entry_idx]

        teacher = MemoryTeacher(teacher_opt('prosocial', 'train:ordered'))
        start = time.perf_counter()
        n = epoch(teacher)
        return {'seconds': time.perf_counter() - start, 'examples': n,
                'peak_rss_mb': _peak_rss_mb()}
    if kind == 'parts':
        return reading_parts(path)
    # imports and option parsing are not the data's cost: done before the clock starts
    import importlib

    from parlai.core.teachers import create_task_agent_from_taskname

    from parlai_prosocial.testing import teacher_opt

    if kind in ('ours', 'ours_direct'):
        importlib.import_module('parlai.tasks.prosocial.agents')
        directory = hf_dir if kind == 'ours' else os.path.join(datapath, 'prosocial_dialog')
        opt = teacher_opt('prosocial', 'train:ordered', prosocial_data_dir=directory)
    else:
        importlib.import_module('parlai.tasks.prosocial_dialog.agents')
        opt = teacher_opt('prosocial_dialog', 'train:ordered', datapath=datapath)
    start = time.perf_counter()
    teacher = create_task_agent_from_taskname(opt)[0]
    created = time.perf_counter() - start
    n = acts(teacher, teacher.num_examples()) if kind == 'builtin' else epoch(teacher)
    return {'seconds': time.perf_counter() - start, 'create_seconds': created, 'examples': n,
            'peak_rss_mb': _peak_rss_mb()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='/tmp/prosocial_load')
    parser.add_argument('--rows', type=int, default=TRAIN_ROWS)
    parser.add_argument('--repeats', type=int, default=3)
    from parlai_prosocial import results as results_file

    results_file.add_output_arguments(parser, 'only OUT/results.json')
    parser.add_argument('--_measure', nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._measure:
        print(json.dumps(measure(*args._measure)))
        return
    results_file.check_output(
        parser, args.results, args.overwrite, os.path.join(args.out, 'results.json')
    )
    from parlai_prosocial import results as results_file

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    start = time.perf_counter()
    hf_dir, datapath, dialogues = write_data(out, args.rows)
    written_seconds = time.perf_counter() - start
    env = dict(os.environ, OMP_NUM_THREADS='1')
    kinds = ('bare', 'bare_kept', 'ours', 'builtin', 'floor', 'parts', 'bare_direct', 'ours_direct')
    runs = {kind: [] for kind in kinds}
    for _ in range(args.repeats):
        for kind in runs:
            done = subprocess.run(
                [sys.executable, __file__, '--_measure', kind, hf_dir, datapath],
                capture_output=True, text=True, env=env,
            )
            if done.returncode != 0:
                raise SystemExit(f'{kind} failed:\n{done.stderr[-3000:]}')
            runs[kind].append(json.loads(done.stdout.strip().splitlines()[-1]))
            served = runs[kind][-1].get('examples')
            if served is not None and served != args.rows:
                raise SystemExit(f'{kind} served {served} messages, expected {args.rows}')
            print(kind, runs[kind][-1], flush=True)

    def seconds(kind, key='seconds'):
        return [r[key] for r in runs[kind]]

    med = {kind: statistics.median(seconds(kind)) for kind in runs if kind != 'parts'}
    ours_create = statistics.median(seconds('ours', 'create_seconds'))
    builtin_create = statistics.median(seconds('builtin', 'create_seconds'))
    direct_create = statistics.median(seconds('ours_direct', 'create_seconds'))
    rows = [
        ['bare `json.loads` of every line', results_file.spread(seconds('bare')), 1.0, None,
         runs['bare'][0]['peak_rss_mb']],
        ['bare, keeping every row (collector paused, as our reader)',
         results_file.spread(seconds('bare_kept')), med['bare_kept'] / med['bare'], None,
         runs['bare_kept'][0]['peak_rss_mb']],
        ['ours (`-t prosocial`): creation (read + validate)',
         results_file.spread(seconds('ours', 'create_seconds')), ours_create / med['bare'], None,
         None],
        ['ours: creation + one epoch through `act()`', results_file.spread(seconds('ours')),
         med['ours'] / med['bare'], med['ours'] / (med['bare'] + med['floor']),
         runs['ours'][0]['peak_rss_mb']],
        ["ParlAI's `prosocial_dialog`: creation", results_file.spread(
            seconds('builtin', 'create_seconds')), builtin_create / med['bare'], None, None],
        ["ParlAI's `prosocial_dialog`: creation + an epoch's worth of `act()`",
         results_file.spread(seconds('builtin')), med['builtin'] / med['bare'],
         med['builtin'] / (med['bare'] + med['floor']), runs['builtin'][0]['peak_rss_mb']],
        ['floor: the same messages from memory, one epoch through `act()`',
         results_file.spread(seconds('floor')), med['floor'] / med['bare'], None, None],
        ["bare `json.load` of the direct download's file (same content)",
         results_file.spread(seconds('bare_direct')), med['bare_direct'] / med['bare'], None, None],
        ["ours on the direct download's file: creation (read + validate)",
         results_file.spread(seconds('ours_direct', 'create_seconds')),
         direct_create / med['bare'], None, None],
    ]
    targets = [
        ['ours: creation ≤ 2× the bare parse', ours_create / med['bare'],
         'met' if ours_create <= 2 * med['bare'] else 'not met'],
        ['ours: whole epoch ≤ 1.25× (bare parse + floor)',
         med['ours'] / (med['bare'] + med['floor']),
         'met' if med['ours'] <= 1.25 * (med['bare'] + med['floor']) else 'not met'],
        ["ours on the direct download's file: creation ≤ 2× its bare `json.load`",
         direct_create / med['bare_direct'],
         'met' if direct_create <= 2 * med['bare_direct'] else 'not met'],
        ['for scale: our decode step alone (parts table) + floor',
         (statistics.median(seconds('parts', 'parse')) + med['floor'])
         / (med['bare'] + med['floor']),
         'the rest of the 1.25× is all that checking the rows and building the messages may take'],
    ]
    tables = {
        'load': results_file.table(
            ['', 'seconds, median (min–max)', '× bare parse', '× (bare parse + floor)',
             'peak RSS (MB)'],
            rows, formats=[None, '.2f', '.2f', '.2f', ',.0f']),
        'targets': results_file.table(['target (issue 11 §4)', 'measured ratio', ''], targets,
                                      formats=[None, '.2f', None], align='lrl'),
        'parts': results_file.table(
            ['step of our reading (in one process, collector paused)', 'seconds, median (min–max)',
             '× bare parse'],
            [[PARTS[step], results_file.spread(seconds('parts', step)),
              statistics.median(seconds('parts', step)) / med['bare']] for step in PARTS],
            formats=[None, '.2f', '.2f']),
        'data': results_file.table(
            ['synthetic training file', ''],
            [['rows (turns)', runs['ours'][0]['examples']], ['dialogues', dialogues],
             ['size (MB)', os.path.getsize(os.path.join(hf_dir, 'train.json')) / 1e6]],
            formats=[None, ',.0f']),
    }
    written = results_file.write(
        os.path.join(out, 'results.json'), name='prosocial_load', script=__file__,
        commands=['python benchmarks/prosocial_load/run.py ' + ' '.join(sys.argv[1:])],
        numbers={'runs': runs, 'write_seconds': written_seconds, 'rows': args.rows},
        tables=tables, seeds=[0],
    )
    results_file.publish(written, args.results)


if __name__ == '__main__':
    main()
