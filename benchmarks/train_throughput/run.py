#!/usr/bin/env python
"""
Training throughput through our ProsocialDialog teachers vs a plain ParlAI teacher (issue 11 §5).

    python benchmarks/train_throughput/run.py --out OUT [--results benchmarks/train_throughput/results.json]

Writes a synthetic ``train.json`` in the HF JSON Lines schema (``--rows`` rows: the bundled
sample's dialogues repeated, as ``benchmarks/prosocial_load/run.py`` makes them, whose code is
imported). For each task (``prosocial:rot_response``, ``prosocial:safety``) it dumps one
``train:ordered`` epoch of our teacher as a ParlAI Dialog Format file (``text``, ``labels``,
``episode_done``, ParlAI's own escaping: ``parlai.utils.misc.msg_to_str``), the same episodes in
the same order, and checks that ParlAI's ``fromfile:parlaiformat`` teacher reads back exactly our
teacher's episodes. Then ``parlai train_model`` runs on both, with the same model options,
dictionary, seed and batch size, bounded by ``--steps`` steps, without validation, generation or
saving:

* ``rot_response``: ``-m prost`` (``-o prosocial/tiny_prost``; mid: 4 layers, 256-dim
  embeddings, 512-dim feed-forward, 4 heads), one ``--dict-file`` built once from the dump;
* ``safety``: Canary (``-o prosocial/tiny_canary``, ParlAI's T5 agent) on the tiny offline T5 of
  ``parlai_prosocial.agents.canary.tiny`` (the preset's ``parlai_prosocial/tiny-t5``, same build and
  seed; mid: the same tokenizer with a 4-layer, 256-dim, 512 feed-forward, 4-head T5).

Rate: each run is a new process; ParlAI's ``TrainLoop`` is set up (imports, model, teacher, reading
the file) before the clock starts, and ``TrainLoop.train_steps()`` is driven with a log every
``--log-steps`` steps. The clock is read at each log; the first interval is a warm-up and left
out; the rate is the examples of the remaining intervals (ParlAI's ``exs`` of each train report)
over their wall time, and over the process's CPU time (``time.process_time()``, which a busy
machine disturbs much less). ``--repeats`` runs of each configuration, ours and plain alternating
(so load on the machine hits both); median (min–max). Every run's batches are compared
(context and label tokens per batch and the loss, per interval): ours and plain train on the same
batches. The target: ours ≥ 0.95× plain at the mid size.

``--profile`` also runs every configuration once more under ``cProfile`` and records where the
train loop's time goes: the time in teacher code (ParlAI's teachers, the ``fromfile`` task, this
repository's tasks), counted where the loop enters it, and the functions it enters.
"""

import argparse
import cProfile
import importlib.util
import json
import os
import pstats
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

TASKS = ['rot_response', 'safety']
SIZES = ['tiny', 'mid']

#: the mid size: one architecture for both models (transformer / T5)
MID = dict(layers=4, heads=4, dim=256, ffn=512)


def _prosocial_load():
    """
    ``benchmarks/prosocial_load/run.py`` as a module (its synthetic data), not copied here.
    """
    path = os.path.join(os.path.dirname(HERE), 'prosocial_load', 'run.py')
    spec = importlib.util.spec_from_file_location('prosocial_load_run', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- data ---------------------------------------------------------------------------------------


def write_data(out, rows):
    prosocial_load = _prosocial_load()
    train, dialogues = prosocial_load.synthetic_train(rows)
    return prosocial_load.write_hf(os.path.join(out, 'hf'), train), dialogues


def _triples(messages):
    return [(m['text'], list(m['labels']), bool(m['episode_done'])) for m in messages]


def dump_plain(task, hf_dir, path):
    """
    One ``train:ordered`` epoch of ``prosocial:TASK`` as a ParlAI Dialog Format file; checks that
    ``fromfile:parlaiformat`` reads back the same episodes. Returns (examples, episodes).
    """
    from parlai.core.message import Message
    from parlai.utils.misc import msg_to_str

    from parlai_prosocial.testing import create_teacher, episodes_of, one_epoch

    ours = one_epoch(create_teacher(f'prosocial:{task}', 'train:ordered',
                                    prosocial_data_dir=hf_dir), limit=10**7)
    with open(path, 'w', encoding='utf-8') as f:
        for text, labels, done in _triples(ours):
            f.write(msg_to_str(Message(text=text, labels=labels, episode_done=done)) + '\n')
    plain = one_epoch(create_teacher('fromfile:parlaiformat', 'train:ordered',
                                     fromfile_datapath=path), limit=10**7)
    if _triples(plain) != _triples(ours):
        raise SystemExit(f'{path}: the plain teacher does not read back our {task} episodes')
    return len(ours), len(episodes_of(ours))


# --- models -------------------------------------------------------------------------------------


def build_models(out, plain_files, sizes, env):
    """
    The dictionary of the transformer (built once, from the rot_response dump; None without
    that task), the T5 of each size (with the safety task), and the dictionary's command.
    """
    from parlai_prosocial.agents.canary.tiny import build_tiny_t5

    dict_file, command, t5 = None, None, {}
    if 'rot_response' in plain_files:
        dict_file = os.path.join(out, 'dict_rot_response')
        # the preset's dictionary options (build_dict does not take the preset's model options)
        preset = os.path.join(REPO, 'opt_presets', 'prosocial', 'tiny_prost.opt')
        with open(preset, encoding='utf-8') as f:
            preset = json.load(f)
        command = ['build_dict', '-t', 'fromfile:parlaiformat', '--fromfile-datapath',
                   plain_files['rot_response'], '--dict-file', dict_file]
        for key, value in sorted(preset.items()):
            if key.startswith('dict_'):
                command += ['--' + key.replace('_', '-'), str(value).lower()]
        if not os.path.isfile(dict_file):
            done = subprocess.run([sys.executable, '-m', 'parlai'] + command, env=env,
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f'build_dict failed:\n{done.stderr[-3000:]}')
    for size in sizes if 'safety' in plain_files else []:
        t5[size] = os.path.join(out, f't5_{size}')
        if not os.path.isfile(os.path.join(t5[size], 'config.json')):
            overrides = {} if size == 'tiny' else dict(
                d_model=MID['dim'], d_kv=MID['dim'] // MID['heads'], d_ff=MID['ffn'],
                num_layers=MID['layers'], num_decoder_layers=MID['layers'],
                num_heads=MID['heads'])
            build_tiny_t5(t5[size], seed=0, **overrides)
    return dict_file, t5, ('parlai ' + ' '.join(command)) if command else None


def train_args(task, size, kind, hf_dir, plain_file, dict_file, t5, args):
    if task == 'rot_response':
        model = ['-o', 'prosocial/tiny_prost', '--dict-file', dict_file]
        if size == 'mid':
            model += ['--n-layers', str(MID['layers']), '--n-heads', str(MID['heads']),
                      '--embedding-size', str(MID['dim']), '--ffn-size', str(MID['ffn'])]
    else:
        # the T5 tokenizer is the dictionary; train_model wants a model or dict file named
        model = ['-o', 'prosocial/tiny_canary', '--t5-model-arch', t5[size],
                 '--dict-file', os.path.join(t5[size], 'unused.dict')]
    data = (['-t', f'prosocial:{task}', '--prosocial-data-dir', hf_dir] if kind == 'ours'
            else ['-t', 'fromfile:parlaiformat', '--fromfile-datapath', plain_file])
    return model + data + [
        '--multitask-weights', '1', '--seed', '0', '--batchsize', str(args.batchsize),
        '--num-epochs', '-1', '--max-train-steps', str(args.steps + 1),
        '--log-every-n-steps', str(args.log_steps), '--log-every-n-secs', '-1',
        '--validation-every-n-epochs', '-1', '--validation-every-n-secs', '-1',
        '--validation-every-n-steps', '-1', '--skip-generation', 'true', '--no-cuda',
    ]


# --- measuring (in a new process) -----------------------------------------------------------------


def measure(argv, profile_to=None):
    """
    Set up ParlAI's TrainLoop for ``argv`` (untimed), then drive its train loop, reading the clock
    at every log; returns the intervals and the rate after the first (warm-up) interval.
    """
    import logging

    import torch
    from parlai.scripts.train_model import TrainLoop, setup_args
    from parlai.utils import logging as parlai_logging

    torch.set_num_threads(1)
    parlai_logging.logger.setLevel(logging.WARNING)
    opt = setup_args().parse_args(argv)
    loop = TrainLoop(opt)
    profiler = cProfile.Profile() if profile_to else None
    clock, cpu, exs, batches = [time.perf_counter()], [time.process_time()], [], []
    if profiler:
        profiler.enable()
    for report in loop.train_steps():
        clock.append(time.perf_counter())
        cpu.append(time.process_time())
        exs.append(report['exs'].value())
        # what was trained on: context and label tokens per batch, and the loss, per interval
        batches.append({k: float(report[k].value()) for k in ('ctpb', 'ltpb', 'loss')})
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile_to)
    seconds = [b - a for a, b in zip(clock, clock[1:])]
    cpu_seconds = [b - a for a, b in zip(cpu, cpu[1:])]
    timed_exs, timed_seconds = sum(exs[1:]), sum(seconds[1:])
    parameters = sum(p.numel() for p in loop.agent.model.parameters())
    return {'parameters': parameters, 'load_average_at_end': list(os.getloadavg()),
            'interval_seconds': seconds, 'interval_exs': exs, 'interval_batches': batches,
            'steps': loop._train_steps, 'exs_per_second': timed_exs / timed_seconds,
            'best_interval_exs_per_second': max(e / t for e, t in zip(exs[1:], seconds[1:])),
            'timed_exs': timed_exs, 'timed_seconds': timed_seconds,
            'interval_cpu_seconds': cpu_seconds,
            'exs_per_cpu_second': timed_exs / sum(cpu_seconds[1:])}


def _run(argv, env, profile_to=None):
    command = [sys.executable, __file__, '--_measure', json.dumps(argv)]
    if profile_to:
        command += ['--_profile_to', profile_to]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f'training failed: {" ".join(argv)}\n{done.stderr[-3000:]}')
    return json.loads(done.stdout.strip().splitlines()[-1])


def _teacher_code(filename):
    """
    Whether a profiled function is teacher code: ParlAI's teachers (``parlai/core/teachers.py``,
    the ``fromfile`` task) or this repository's tasks.
    """
    path = os.path.abspath(filename) if os.path.isabs(filename) else ''
    return (path.endswith(os.path.join('parlai', 'core', 'teachers.py'))
            or os.path.join('parlai', 'tasks', 'fromfile') in path
            or path.startswith(os.path.join(REPO, 'tasks') + os.sep))


def profile_summary(path, top):
    """
    From a cProfile dump of the train loop: its total time, the time spent in teacher code
    (cumulative, counted where it is entered from outside teacher code, so nothing twice), and
    the teacher functions entered from outside (``world.parley``, ``get_total_epochs``) and this
    repository's functions, by that time.
    """
    stats = pstats.Stats(path).stats
    total = sum(tt for (_, _, tt, _, _) in stats.values())
    teacher = {key for key in stats if _teacher_code(key[0])}
    entries, own = [], []
    for key in teacher:
        cc, nc, tt, ct, callers = stats[key]
        outside = [(c, v) for c, v in callers.items() if c not in teacher]
        entered = sum(v[3] for _, v in outside)
        calls = sum(v[1] for _, v in outside)
        name = f'{portable_path(key[0])}:{key[1]}({key[2]})'
        if entered:
            entries.append({'function': name, 'calls': calls, 'cumulative_seconds': entered})
        if key[0].startswith(REPO) and '-packages' not in key[0]:
            own.append({'function': name, 'calls': nc, 'own_seconds': tt,
                        'cumulative_seconds': ct})
    entries.sort(key=lambda r: -r['cumulative_seconds'])
    own.sort(key=lambda r: -r['cumulative_seconds'])
    return {'total_seconds': total,
            'teacher_seconds': sum(r['cumulative_seconds'] for r in entries),
            'teacher_entries': entries[:top], 'repository_functions': own[:top]}


def portable_path(filename):
    """
    A profiled file's name without this machine's folders: relative to the repository, or from
    ``parlai/`` on for ParlAI's own files.
    """
    marker = os.sep + 'site-packages' + os.sep
    if marker in filename:
        return filename.split(marker, 1)[1]
    if filename.startswith(REPO + os.sep):
        return os.path.relpath(filename, REPO)
    return os.path.basename(filename)


# --- main -----------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='/tmp/train_throughput')
    parser.add_argument('--rows', type=int, default=4000)
    parser.add_argument('--steps', type=int, default=60,
                        help='timed steps (after one warm-up log interval)')
    parser.add_argument('--log-steps', type=int, default=20)
    parser.add_argument('--batchsize', type=int, default=8)
    parser.add_argument('--repeats', type=int, default=4)
    parser.add_argument('--tasks', default=','.join(TASKS))
    parser.add_argument('--sizes', default=','.join(SIZES))
    parser.add_argument('--profile', action='store_true')
    from parlai_prosocial import results as results_file

    results_file.add_output_arguments(parser, 'only OUT/results.json')
    parser.add_argument('--_measure', help=argparse.SUPPRESS)
    parser.add_argument('--_profile_to', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._measure:
        print(json.dumps(measure(json.loads(args._measure), args._profile_to)))
        return
    results_file.check_output(
        parser, args.results, args.overwrite, os.path.join(args.out, 'results.json')
    )
    if args.steps % args.log_steps:
        parser.error('--steps must be a multiple of --log-steps')
    args.steps += args.log_steps  # the warm-up interval
    from parlai_prosocial import results as results_file

    tasks = args.tasks.split(',')
    sizes = args.sizes.split(',')
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS='1')
    hf_dir, dialogues = write_data(out, args.rows)
    plain_files, data = {}, {}
    for task in tasks:
        plain_files[task] = os.path.join(out, f'plain_{task}.txt')
        examples, episodes = dump_plain(task, hf_dir, plain_files[task])
        data[task] = {'examples': examples, 'episodes': episodes}
    dict_file, t5, dict_command = build_models(out, plain_files, sizes, env)

    def argv(task, size, kind):
        return train_args(task, size, kind, hf_dir, plain_files[task], dict_file, t5, args)

    runs = {task: {size: {'ours': [], 'plain': []} for size in sizes} for task in tasks}
    for repeat in range(args.repeats):
        for task in tasks:
            for size in sizes:
                order = ('ours', 'plain') if repeat % 2 == 0 else ('plain', 'ours')
                for kind in order:
                    runs[task][size][kind].append(_run(argv(task, size, kind), env))
                    print(task, size, kind, round(runs[task][size][kind][-1]['exs_per_second'], 1),
                          flush=True)

    profiles = {}
    if args.profile:
        for task in tasks:
            profiles[task] = {size: {} for size in sizes}
            for size in sizes:
                for kind in ('ours', 'plain'):
                    dump = os.path.join(out, f'profile_{task}_{size}_{kind}.prof')
                    _run(argv(task, size, kind), env, profile_to=dump)
                    profiles[task][size][kind] = profile_summary(dump, top=8)

    def rates(task, size, kind, key='exs_per_second'):
        return [r[key] for r in runs[task][size][kind]]

    def same_batches(task, size):
        """
        Whether every run of ours and of the plain teacher trained on the same batches: the same
        context and label tokens per batch and the same loss in every log interval.
        """
        seen = [r['interval_batches'] for kind in ('ours', 'plain') for r in runs[task][size][kind]]
        return all(len(b) == len(seen[0]) and all(
            x['ctpb'] == y['ctpb'] and x['ltpb'] == y['ltpb']
            and abs(x['loss'] - y['loss']) <= 1e-4 * max(1.0, abs(y['loss']))
            for x, y in zip(b, seen[0])) for b in seen)

    rows, cpu_rows, targets, ratios = [], [], [], {}
    for task in tasks:
        for size in sizes:
            ours, plain = rates(task, size, 'ours'), rates(task, size, 'plain')
            ratio = statistics.median(ours) / statistics.median(plain)
            paired = [o / p for o, p in zip(ours, plain)]
            best = (max(rates(task, size, 'ours', 'best_interval_exs_per_second'))
                    / max(rates(task, size, 'plain', 'best_interval_exs_per_second')))
            same = same_batches(task, size)
            ratios[f'{task}/{size}'] = {'of_medians': ratio, 'paired': paired,
                                        'of_best_intervals': best, 'same_batches': same}
            rows.append([f'`prosocial:{task}`', size, results_file.spread(ours),
                         results_file.spread(plain), ratio, results_file.spread(paired), best,
                         'yes' if same else 'NO'])
            ours_cpu = rates(task, size, 'ours', 'exs_per_cpu_second')
            plain_cpu = rates(task, size, 'plain', 'exs_per_cpu_second')
            ratio_cpu = statistics.median(ours_cpu) / statistics.median(plain_cpu)
            paired_cpu = [o / p for o, p in zip(ours_cpu, plain_cpu)]
            ratios[f'{task}/{size}'].update(cpu_of_medians=ratio_cpu, cpu_paired=paired_cpu)
            cpu_rows.append([f'`prosocial:{task}`', size, results_file.spread(ours_cpu),
                             results_file.spread(plain_cpu), ratio_cpu,
                             results_file.spread(paired_cpu)])
            if size == 'mid':
                targets.append([f'`prosocial:{task}`, mid size, examples per second (wall)',
                                ratio, 'met' if ratio >= 0.95 else 'not met'])
                targets.append([f'`prosocial:{task}`, mid size, examples per CPU second',
                                ratio_cpu, 'met' if ratio_cpu >= 0.95 else 'not met'])
    setup = [['training rows (turns) in the synthetic file', f'{args.rows:,}'],
             ['dialogues', f'{dialogues:,}']]
    setup += [[f'`{task}` examples / episodes',
               f'{data[task]["examples"]:,} / {data[task]["episodes"]:,}'] for task in tasks]
    setup += [[f'`{task}` {size} model: parameters',
               f'{runs[task][size]["ours"][0]["parameters"]:,}']
              for task in tasks for size in sizes]
    setup += [['batch size', str(args.batchsize)],
              ['steps per run (warm-up + timed)',
               f'{args.log_steps} + {args.steps - args.log_steps}'],
              ['repeats (ours and plain alternating)', str(args.repeats)],
              ['torch threads', '1']]
    tables = {
        'throughput': results_file.table(
            ['task', 'size', 'ours: examples/s', 'plain teacher: examples/s',
             'ours / plain (ratio of medians)', 'ours / plain, run by run',
             'ours / plain (fastest intervals)', 'same batches'],
            rows, formats=[None, None, '.1f', '.1f', '.3f', '.3f', '.3f', None],
            align='llrrrrrl'),
        'throughput_cpu': results_file.table(
            ['task', 'size', 'ours: examples per CPU second',
             'plain teacher: examples per CPU second',
             'ours / plain (ratio of medians)', 'ours / plain, run by run'],
            cpu_rows, formats=[None, None, '.1f', '.1f', '.3f', '.3f'], align='llrrrr'),
        'targets': results_file.table(['target (issue 11 §5): ours ≥ 0.95× plain',
                                       'ours / plain (ratio of medians)', ''], targets,
                                      formats=[None, '.3f', None], align='lrl'),
        'setup': results_file.table(['', ''], setup, align='ll'),
    }
    if profiles:
        prof_rows, hot = [], []
        for task in tasks:
            for size in sizes:
                for kind in ('ours', 'plain'):
                    p = profiles[task][size][kind]
                    prof_rows.append([f'`prosocial:{task}`', size, kind, p['total_seconds'],
                                      p['teacher_seconds'],
                                      p['teacher_seconds'] / p['total_seconds']])
                    for f in p['teacher_entries'][:3]:
                        hot.append([f'`prosocial:{task}`', size, kind, f'`{f["function"]}`',
                                    f['calls'], f['cumulative_seconds'] / p['total_seconds']])
        tables['profile'] = results_file.table(
            ['task', 'size', 'teacher', 'train loop s (profiled)', 'in teacher code s',
             'teacher share'],
            prof_rows, formats=[None, None, None, '.2f', '.3f', '.1%'], align='lllrrr')
        tables['profile_functions'] = results_file.table(
            ['task', 'size', 'teacher', 'teacher function (entered from the loop)', 'calls',
             'share of the train loop'], hot,
            formats=[None, None, None, None, ',d', '.2%'], align='llllrr')
    commands = [dict_command] * bool(dict_command) + [
        'parlai train_model ' + ' '.join(argv(task, size, kind))
        for task in tasks for size in sizes for kind in ('ours', 'plain')]
    written = results_file.write(
        os.path.join(out, 'results.json'), name='train_throughput', script=__file__,
        commands=[c.replace(out, 'OUT') for c in commands],
        numbers={'runs': runs, 'ratios_of_medians': ratios, 'data': data, 'profiles': profiles,
                 'mid': MID},
        tables=tables, seeds=[0],
    )
    results_file.publish(written, args.results)


if __name__ == '__main__':
    main()
