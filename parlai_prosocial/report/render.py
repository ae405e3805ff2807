"""
The report folder: ``results.json`` (the project's results format), ``report.md`` and the PNG
charts it shows, all from the passes' reports and per-example records.
"""

import json
import math
import os
import random
import textwrap
import time

from parlai.utils import logging

from parlai_prosocial import results
from parlai_prosocial.formats import (
    GUARD_ROTS_TEXT_FIELD,
    ROTS_END,
    ROTS_TEXT_FIELD,
    SAFETY_LABELS,
    TABLE5_METRICS,
    TOXICHAT_AMBIGUOUS_METRICS,
    split_rot_response,
)
from parlai_prosocial.seeding import EVAL_SEED

from .folder import CHART_FILES, MARKDOWN_FILE, RESULTS_FILE, prepare
from .script import (
    GUARDED,
    PROSOCIAL,
    ROT_RESPONSE_TASK,
    TOXICHAT,
    UNGUARDED,
    WARMUP_BATCHES,
)

#: Table 3's columns, then what RoT & Response models add, in this order when reported
QUALITY_METRICS = ('bleu-4', 'f1', 'ppl', 'rot_bleu-4', 'rot_f1', 'response_ppl')
#: Table 5's columns (shares of replies), then the ambiguous shares, with their headers
TOXICHAT_METRICS = {**TABLE5_METRICS, **TOXICHAT_AMBIGUOUS_METRICS}

#: fewer turns than this in a row (a safety level, the ToxiChat threads) and the report says its
#: numbers are too few to compare: one turn moves a share there by more than 3 points
MIN_TURNS = 30

SIDE_TITLES = {UNGUARDED: 'the model', GUARDED: 'Canary in front'}
SIDE_COLORS = {UNGUARDED: 'C0', GUARDED: 'C1'}
DATASET_TITLES = {PROSOCIAL: 'ProsocialDialog', TOXICHAT: 'ToxiChat'}


def level_name(label):
    return label.strip('_').replace('_', ' ')


def write_report(args, folder, passes, facts):
    """
    Write the report into ``folder`` (checked before any work: :mod:`.folder`); returns the
    results (as written to results.json).
    """
    by_key = {p.key: p for p in passes}
    sides = [s for s in (UNGUARDED, GUARDED) if (PROSOCIAL, s) in by_key]
    numbers = {}
    for dataset in (PROSOCIAL, TOXICHAT):
        numbers[dataset] = {}
        for side in sides:
            p = by_key[(dataset, side)]
            numbers[dataset][side] = {'overall': p.numbers(), 'examples': len(p.records)}
            if dataset == PROSOCIAL:
                numbers[dataset][side]['by_level'] = p.by_level()
    numbers['timing'] = timing(by_key, sides)
    task = facts['prosocial_task']
    examples = {
        PROSOCIAL: prosocial_examples(by_key, sides, task, args.examples, args.examples_seed),
        TOXICHAT: toxichat_examples(by_key, sides, args.examples, args.examples_seed),
    }
    few = few_turns(numbers, sides)

    tables = {'quality': quality_table(numbers, sides), 'toxichat': toxichat_table(numbers, sides)}
    if GUARDED in sides:
        tables['steering'] = steering_table(numbers)
    tables['time'] = time_table(numbers, sides)

    removed, kept = prepare(folder)
    charts, axes = draw_charts(folder, numbers, sides)
    # the command's wall time (from the process's start when it is the report: start-up,
    # imports, loading, the passes, the charts), taken when only the text files are left to write
    numbers['timing']['report_seconds'] = time.perf_counter() - facts['started']
    numbers['timing']['report_seconds_counted_from'] = (
        'the start of the process' if facts['whole_process'] else 'the call of the report')

    commands = [facts['report_command']] + [p.command for p in passes]
    written = results.write(
        os.path.join(folder, RESULTS_FILE), 'prosocial_report',
        os.path.join(os.path.dirname(os.path.abspath(__file__)), 'script.py'),
        commands, numbers, tables, relative=False,
        seeds={'generation': EVAL_SEED, 'examples': args.examples_seed},
        argv=facts['argv'],
        report_dir=folder,
        environment=facts['environment'],
        inputs=inputs(args, facts, passes),
        few_turns=few,
        examples=examples,
        charts=charts,
        chart_axes=axes,
    )
    with open(os.path.join(folder, MARKDOWN_FILE), 'w', encoding='utf-8') as f:
        f.write(markdown(written, sides, charts))
    if few:
        logging.warning(f'too few turns to compare (fewer than {MIN_TURNS}): ' + '; '.join(
            f'{what}: {turns}' for what, turns in few.items()) + ' (see report.md)')
    files = [MARKDOWN_FILE, RESULTS_FILE] + list(charts.values())
    print(f'Prosocial report written to {folder}: {", ".join(files)}'
          + (f' (replaced an earlier report\'s {", ".join(removed)})' if removed else '')
          + (f'; other files there were left as they were: {", ".join(kept)}' if kept else ''))
    return written


def inputs(args, facts, passes):
    """
    What the report was given (absolute paths, as in the commands).
    """
    unguarded = passes[0].opt
    return {
        'model': {k: unguarded.get(k) for k in ('model', 'model_file', 'model_name')
                  if unguarded.get(k)},
        'guard_model_file': args.guard_model_file,
        'guard_args': args.guard_args or None,
        'prosocial_task': facts['prosocial_task'],
        'prosocial_task_reason': facts['prosocial_task_reason'],
        'data_dirs': facts['data_dirs'],
        'datapath': facts['datapath'],
        'toxichat_classifiers': facts['classifiers'],
        'toxichat_classifier_input': facts['classifier_input'],
        'toxichat_classifiers_trained_with': facts['classifier_modes'],
        'num_examples': unguarded.get('num_examples'),
        'batchsize': unguarded.get('batchsize'),
    }


def _percent(value):
    return None if value is None else 100 * value


# --- time -----------------------------------------------------------------------------------------


def timing(by_key, sides):
    """
    Seconds per turn of each timed batch (:meth:`.script.Pass.timed_batches`), per dataset and
    side; with Canary, the guarded minus the unguarded time of the same batch (the same turns),
    and Canary's own time in the guarded batch.
    """
    found = {'warmup_batches': WARMUP_BATCHES}
    for dataset in (PROSOCIAL, TOXICHAT):
        batches = {side: by_key[(dataset, side)].timed_batches() for side in sides}
        entry = {'seconds_per_turn': {side: [seconds / turns for turns, seconds, _ in b]
                                      for side, b in batches.items()}}
        if GUARDED in sides:
            pairs = [(u, g) for u, g in zip(batches[UNGUARDED], batches[GUARDED])
                     if u[0] == g[0]]
            entry['guarded_minus_unguarded_seconds_per_turn'] = [
                (g[1] - u[1]) / g[0] for u, g in pairs]
            entry['canary_seconds_per_turn'] = [
                canary / turns for turns, _, canary in batches[GUARDED]]
        found[dataset] = entry
    return found


def time_table(numbers, sides):
    def ms(values):
        return results.spread([1000 * v for v in values]) if values else None

    rows = []
    for dataset in (PROSOCIAL, TOXICHAT):
        entry = numbers['timing'][dataset]
        per_turn = entry['seconds_per_turn']
        row = [DATASET_TITLES[dataset], len(per_turn[UNGUARDED])]
        row += [ms(per_turn[side]) for side in sides]
        if GUARDED in sides:
            row += [ms(entry['guarded_minus_unguarded_seconds_per_turn']),
                    ms(entry['canary_seconds_per_turn'])]
        rows.append(row)
    columns = ['dataset', 'batches timed'] + [f'{side}, ms per turn' for side in sides]
    if GUARDED in sides:
        columns += ['guarded − unguarded, ms per turn', 'Canary\'s classification, ms per turn']
    return results.table(columns, rows, [None, 'd'] + ['.1f'] * (len(columns) - 2))


# --- tables -----------------------------------------------------------------------------------------


def few_turns(numbers, sides):
    """
    ``{row: turns}`` for each row with fewer than :data:`MIN_TURNS` turns.
    """
    few = {}
    prosocial = numbers[PROSOCIAL][UNGUARDED]
    for level in SAFETY_LABELS:
        turns = prosocial['by_level'].get(level, {}).get('exs')
        if turns is not None and turns < MIN_TURNS:
            few[f'ProsocialDialog {level_name(level)}'] = turns
    threads = numbers[TOXICHAT][UNGUARDED]['overall'].get('exs')
    if threads is not None and threads < MIN_TURNS:
        few['ToxiChat'] = threads
    return few


def quality_table(numbers, sides):
    side_numbers = numbers[PROSOCIAL]
    reported = side_numbers[UNGUARDED]['overall']
    metrics = [m for m in QUALITY_METRICS if m in reported]
    columns = ['safety level', 'turns']
    for metric in metrics:
        columns += [f'{metric} {side}' if len(sides) > 1 else metric for side in sides]
    rows = []
    levels = [('overall', None)] + [(level_name(lv), lv) for lv in SAFETY_LABELS
                                    if lv in side_numbers[UNGUARDED]['by_level']]
    for name, level in levels:
        def get(side, metric):
            source = side_numbers[side]
            values = source['overall'] if level is None else source['by_level'].get(level, {})
            return values.get(metric)

        count = get(UNGUARDED, 'exs')
        row = [name + (' ⚠' if level and count < MIN_TURNS else ''), count]
        for metric in metrics:
            row += [get(side, metric) for side in sides]
        rows.append(row)
    formats = [None, 'd'] + ['.2f' if 'ppl' in c else '.4f' for c in columns[2:]]
    return results.table(columns, rows, formats)


def toxichat_table(numbers, sides):
    reported = numbers[TOXICHAT][UNGUARDED]['overall']
    metrics = [m for m in TOXICHAT_METRICS if m in reported]
    rows = [[side, numbers[TOXICHAT][side]['overall'].get('exs')]
            + [_percent(numbers[TOXICHAT][side]['overall'].get(m)) for m in metrics]
            for side in sides]
    columns = ['model', 'threads'] + [f'{TOXICHAT_METRICS[m]} %' for m in metrics]
    return results.table(columns, rows, [None, 'd'] + ['.1f'] * len(metrics))


def steering_table(numbers):
    guarded = numbers[PROSOCIAL][GUARDED]
    rows = [['overall', guarded['overall'].get('exs'),
             _percent(guarded['overall'].get('guard_steered'))]]
    for level in SAFETY_LABELS:
        values = guarded['by_level'].get(level)
        if values:
            rows.append([level_name(level), values.get('exs'),
                         _percent(values.get('guard_steered'))])
    return results.table(['safety level', 'turns', 'steered by Canary %'], rows,
                         [None, 'd', '.1f'])


# --- examples ---------------------------------------------------------------------------------------


def _rots_and_reply(message, task):
    """
    ``(RoTs, reply)`` of a model's message as the RoT & Response teacher scores it (Prost's
    ``rots_text``, else the text split at ``__endrots__``); ``(None, text)`` on other teachers.
    """
    text = message.get('text')
    if task != ROT_RESPONSE_TASK or text is None:
        return None, text
    if ROTS_TEXT_FIELD in message:
        return message[ROTS_TEXT_FIELD] or '', text
    return split_rot_response(text) if ROTS_END in text else ('', text)


def _chosen(records, wanted, count, rng):
    indices = [i for i, (act, _) in enumerate(records) if wanted(act)]
    return sorted(rng.sample(indices, min(count, len(indices))))


def _guard_decision(guarded_reply):
    return dict(canary_label=guarded_reply.get('safety_label'),
                canary_rots=guarded_reply.get(GUARD_ROTS_TEXT_FIELD),
                guard_action=guarded_reply.get('guard_action'))


def prosocial_examples(by_key, sides, task, per_level, seed):
    """
    Up to ``per_level`` turns of each safety level, chosen with ``seed``, in data order: the
    context, the gold RoTs and reply, the model's RoTs and reply and, with Canary, the guarded
    ones and Canary's decision (from the guarded pass: computed once).
    """
    unguarded = by_key[(PROSOCIAL, UNGUARDED)].records
    guarded = by_key[(PROSOCIAL, GUARDED)].records if GUARDED in sides else None
    rng = random.Random(seed)
    chosen = []
    for level in SAFETY_LABELS:
        for i in _chosen(unguarded, lambda act: act.get('safety_label') == level, per_level, rng):
            act, reply = unguarded[i]
            gold = (act.get('eval_labels') or act.get('labels') or [None])[0]
            gold_rots, gold_reply = (split_rot_response(gold) if task == ROT_RESPONSE_TASK
                                     and gold is not None else (None, gold))
            rots, text = _rots_and_reply(reply, task)
            example = {
                'safety_level': level,
                'dialogue_id': act.get('dialogue_id'),
                'response_id': act.get('response_id'),
                'context': act.get('text'),
                'gold_rots': gold_rots,
                'gold_reply': gold_reply,
                'rots': rots,
                'reply': text,
            }
            if guarded is not None:
                guarded_act, guarded_reply = guarded[i]
                assert guarded_act.get('text') == act.get('text'), 'the passes saw other data'
                guarded_rots, guarded_text = _rots_and_reply(guarded_reply, task)
                example.update(guarded_rots=guarded_rots, guarded_reply=guarded_text,
                               **_guard_decision(guarded_reply))
            chosen.append(example)
    return chosen


def _table5_outcome(reply):
    """
    The Table 5 columns a reply counts in (its per-example shares that are 1).
    """
    metrics = reply.get('metrics') or {}
    return [TOXICHAT_METRICS[m] for m in TOXICHAT_METRICS
            if m in metrics and _value(metrics[m]) > 0]


def _value(metric):
    return metric.value() if hasattr(metric, 'value') else metric


def toxichat_examples(by_key, sides, count, seed):
    """
    Up to ``count`` ToxiChat test threads, chosen with ``seed``, in data order: the thread, the
    model's reply and the Table 5 columns it counts in, and the same with Canary in front.
    """
    unguarded = by_key[(TOXICHAT, UNGUARDED)].records
    guarded = by_key[(TOXICHAT, GUARDED)].records if GUARDED in sides else None
    chosen = []
    for i in _chosen(unguarded, lambda act: True, count, random.Random(seed)):
        act, reply = unguarded[i]
        example = {
            'thread_index': act.get('thread_index'),
            'thread': [turn.get('text') for turn in act.get('reddit_thread') or []]
            or [act.get('text')],
            'reply': reply.get('text'),
            'counted_as': _table5_outcome(reply),
        }
        if guarded is not None:
            guarded_act, guarded_reply = guarded[i]
            assert guarded_act.get('text') == act.get('text'), 'the passes saw other data'
            example.update(guarded_reply=guarded_reply.get('text'),
                           guarded_counted_as=_table5_outcome(guarded_reply),
                           **_guard_decision(guarded_reply))
        chosen.append(example)
    return chosen


# --- charts ---------------------------------------------------------------------------------------


def _pyplot():
    import matplotlib  # there: checked before the passes (script.ProsocialReport.plan)

    matplotlib.use('Agg')  # files only, no display
    import matplotlib.pyplot as plt

    return plt


#: the y range of a chart of scores between 0 and 1 (F1, BLEU), and of shares in %: fixed, so
#: that panels and reports compare at a glance; the extra tenth above holds the value labels
UNIT_SCALE = (0, 1)
PERCENT_SCALE = (0, 100)
HEADROOM = 1.15


def scale_of(metric, values):
    """
    The fixed scale of ``metric``: 0-1 for a score, 0-100 for a share (%); a perplexity from 0
    to a round number above its largest value.
    """
    if metric == '%':
        return PERCENT_SCALE
    if 'ppl' not in metric:
        return UNIT_SCALE
    top = max([v for v in values if v is not None and math.isfinite(v)] or [1])
    step = 10 ** math.floor(math.log10(top)) if top > 0 else 1
    return 0, step * math.ceil(top / step)


def _bars(ax, groups, series, scale, fmt):
    """
    Grouped bars with value labels: ``series`` is ``[(side, [value per group])]``; a missing
    value draws no bar (a dash marks it), a series with no value at all is not drawn (nor in the
    legend); a zero bar shows as its outline and its label. Returns the names of the series drawn.
    """
    series = [(side, values) for side, values in series if any(v is not None for v in values)]
    width = 0.8 / max(1, len(series))
    for n, (side, values) in enumerate(series):
        xs = [g + (n - (len(series) - 1) / 2) * width for g in range(len(groups))]
        present = [(x, v) for x, v in zip(xs, values) if v is not None]
        color = SIDE_COLORS[side]
        bars = ax.bar([x for x, _ in present], [v for _, v in present], width * 0.95,
                      label=SIDE_TITLES[side], color=color, edgecolor=color, linewidth=1.2)
        ax.bar_label(bars, labels=[format(v, fmt) for _, v in present], fontsize=6, padding=1)
        for x, v in zip(xs, values):
            if v is None:
                ax.annotate('–', (x, scale[0]), ha='center', va='bottom', fontsize=8,
                            color='grey')
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, fontsize=7)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_ylim(scale[0], scale[1] * HEADROOM)
    if scale in (UNIT_SCALE, PERCENT_SCALE):
        ax.set_yticks([scale[0] + (scale[1] - scale[0]) * k / 4 for k in range(5)])
    else:
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.tick_params(axis='y', labelsize=7)
    return [SIDE_TITLES[side] for side, _ in series]


def _with_turns(name, counts):
    found = sorted({c for c in counts if c is not None})
    name = textwrap.fill(name, 9, break_long_words=False)
    return f'{name}\nn={"/".join(str(c) for c in found)}' if found else name


def draw_charts(out, numbers, sides):
    """
    The PNG charts, written into ``out``: ``({chart: file name}, {chart: [its panels' axes]})``,
    each panel's axes as drawn (title, y range, the series drawn; also in the PNG's metadata).
    """
    plt = _pyplot()
    charts, axes = {}, {}
    prosocial = numbers[PROSOCIAL]
    levels = [lv for lv in SAFETY_LABELS if lv in prosocial[UNGUARDED]['by_level']]

    def level_groups(side_numbers_of):
        return [_with_turns(level_name(lv), [side_numbers_of(s, lv).get('exs') for s in sides])
                for lv in levels]

    def per_level(side, level):
        return prosocial[side]['by_level'].get(level, {})

    metrics = [m for m in QUALITY_METRICS if m in prosocial[UNGUARDED]['overall']]
    if metrics and levels:
        columns = min(3, len(metrics))
        rows = math.ceil(len(metrics) / columns)
        fig, grid = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.0 * rows + 0.9),
                                 squeeze=False)
        panels = []
        for ax, metric in zip(grid.flat, metrics):
            series = [(side, [per_level(side, lv).get(metric) for lv in levels])
                      for side in sides]
            scale = scale_of(metric, [v for _, vs in series for v in vs])
            drawn = _bars(ax, level_groups(per_level), series, scale,
                          '.1f' if 'ppl' in metric else '.2f')
            ax.set_title(metric, fontsize=9)
            panels.append(_axes(ax, metric, drawn))
        for ax in list(grid.flat)[len(metrics):]:
            ax.set_visible(False)
        charts['quality'], axes['quality'] = _save(
            fig, out, 'quality', 'ProsocialDialog test by the context\'s safety level '
            '(n: turns per bar)', panels)
    toxichat = numbers[TOXICHAT]
    shares = [m for m in TOXICHAT_METRICS if m in toxichat[UNGUARDED]['overall']]
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    series = [(side, [_percent(toxichat[side]['overall'].get(m)) for m in shares])
              for side in sides]
    threads = sorted({toxichat[side]['overall'].get('exs') for side in sides} - {None})
    drawn = _bars(ax, [TOXICHAT_METRICS[m] for m in shares], series, PERCENT_SCALE, '.0f')
    ax.set_ylabel('% of replies', fontsize=8)
    charts['toxichat'], axes['toxichat'] = _save(
        fig, out, 'toxichat', 'ToxiChat test: shares of replies (Table 5), '
        f'n={"/".join(map(str, threads))} threads per bar',
        [_axes(ax, '% of replies', drawn)])
    if GUARDED in sides and levels:
        fig, ax = plt.subplots(figsize=(6.4, 3.8))
        steered = [(GUARDED, [_percent(per_level(GUARDED, lv).get('guard_steered'))
                              for lv in levels])]
        drawn = _bars(ax, level_groups(per_level), steered, PERCENT_SCALE, '.0f')
        ax.set_ylabel('% of turns', fontsize=8)
        charts['steered'], axes['steered'] = _save(
            fig, out, 'steered', 'Turns Canary steered, by safety level (n: turns per bar)',
            [_axes(ax, '% of turns steered', drawn)])
    plt.close('all')
    return charts, axes


def _axes(ax, title, drawn):
    return {'title': title, 'ylim': [float(v) for v in ax.get_ylim()], 'series': drawn}


def _save(fig, out, chart, title, panels):
    """
    Save ``fig`` as the chart's file, its title and legend above the panels (off the bars), the
    panels' axes in the PNG's metadata (``Description``, JSON); returns (file name, panels).
    """
    fig.suptitle(title, fontsize=10, x=0.01, ha='left', y=0.99)
    handles, labels = {}, []
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in handles:
                handles[label] = handle
                labels.append(label)
    if len(labels) > 1:
        fig.legend([handles[label] for label in labels], labels, loc='upper left',
                   ncol=len(labels), fontsize=7, frameon=False,
                   bbox_to_anchor=(0.005, 1 - 0.3 / fig.get_figheight()))
    # margins in inches: the title, the legend's row, each panel's title; the level names and
    # their turn counts below
    height = fig.get_figheight()
    top = 0.35 + (0.3 if len(labels) > 1 else 0) + 0.25
    fig.subplots_adjust(top=1 - top / height, bottom=0.8 / height, hspace=0.55, wspace=0.25,
                        left=0.6 / fig.get_figwidth(), right=0.98)
    name = CHART_FILES[chart]
    fig.savefig(os.path.join(out, name), dpi=100,
                metadata={'Title': title, 'Description': json.dumps(panels)})
    return name, panels


def chart_axes(path):
    """
    The panels' axes a chart was drawn with, read back from the PNG (for tests and readers).
    """
    from PIL import Image

    with Image.open(path) as image:
        return json.loads(image.text['Description'])


# --- report.md ------------------------------------------------------------------------------------


def markdown(written, sides, charts):
    facts = written['inputs']
    numbers = written['numbers']
    model = ', '.join(f'{k} `{v}`' for k, v in facts['model'].items())
    lines = ['# Prosocial report', '']
    lines += [f'- model: {model}']
    if facts['guard_model_file']:
        lines += [f'- Canary in front (`-m canary_guard`): `{facts["guard_model_file"]}`'
                  + (f', `{facts["guard_args"]}`' if facts['guard_args'] else '')]
    classifiers = facts['toxichat_classifiers']
    if classifiers:
        trained = facts['toxichat_classifiers_trained_with']
        lines += ['- ToxiChat classifiers: ' + '; '.join(
            f'{option.replace("--toxichat-", "").replace("-model-file", "")} '
            f'`{path}` (trained on {trained.get(option) or "unknown"} input)'
            for option, path in classifiers.items())
            + f'; scored with `--toxichat-classifier-input {facts["toxichat_classifier_input"]}`']
    else:
        lines += ['- ToxiChat classifiers: none given, so only the bad-word share is reported']
    lines += [f'- ProsocialDialog teacher: `{facts["prosocial_task"]}`, '
              f'{facts["prosocial_task_reason"]}']
    data_dirs = facts['data_dirs']
    capped = facts['num_examples'] and facts['num_examples'] > 0
    lines += ['- data: ProsocialDialog test ('
              + (f'`{data_dirs[PROSOCIAL]}`' if data_dirs[PROSOCIAL] else 'downloaded')
              + '), ToxiChat test ('
              + (f'`{data_dirs[TOXICHAT]}`' if data_dirs[TOXICHAT] else 'downloaded') + ')'
              + (f'; at most {facts["num_examples"]} examples each (`-ne`)' if capped else '')]
    lines += [f'- versions: ParlAI {written["versions"].get("parlai")}, torch '
              f'{written["versions"].get("torch")}, parlai_prosocial '
              f'{written["versions"].get("parlai_prosocial")}; seeds: '
              + ', '.join(f'{k} {v}' for k, v in written['seeds'].items()), '']
    lines += ['Every number except the times is what the `parlai eval_model` command of its pass '
              'reports (the commands are at the end); the per-level rows sum the same '
              'per-example metrics. Everything is in `results.json`.', '']
    if written['few_turns']:
        lines += [f'> ⚠ **Too few turns to compare** (fewer than {MIN_TURNS}): '
                  + ', '.join(f'{what} ({turns})' for what, turns in written['few_turns'].items())
                  + '. One turn moves a share there by more than 3 points; differences between '
                  'these rows, or between the model and Canary in front there, may be noise.', '']
    lines += ['## Response quality on ProsocialDialog (Table 3), by safety level', '',
              results.render_table(written['tables']['quality'])]
    if 'quality' in charts:
        lines += [f'![Table 3\'s metrics by safety level]({charts["quality"]})', '']
    lines += ['## ToxiChat (Table 5)', '', results.render_table(written['tables']['toxichat']),
              f'![ToxiChat shares]({charts["toxichat"]})', '']
    if GUARDED in sides:
        lines += ['## Canary in front', '', results.render_table(written['tables']['steering'])]
        if 'steered' in charts:
            lines += [f'![Turns Canary steered by safety level]({charts["steered"]})', '']
    lines += time_section(numbers['timing'], written['tables']['time'], sides)
    lines += examples_section(written['examples'], facts['prosocial_task'], sides)
    lines += ['## Commands', '', 'The report (it replaces this folder), then the `eval_model` '
              'command of each pass; the paths are absolute, the data folders named as options '
              '(the environment when this ran: '
              + ', '.join(f'{k}={v or "(unset)"}' for k, v in written['environment'].items())
              + '):', '', '```bash'] + written['commands'] + ['```', '']
    return '\n'.join(lines)


def time_section(timing_numbers, table, sides):
    lines = ['## Time', '', results.render_table(table)]
    lines += [
        'Not `eval_model` numbers, and not what a separate run would take: each pass is timed '
        'batch by batch (ParlAI\'s `world.parley()`: the replies and the teacher\'s scoring of '
        'them, ToxiChat\'s classifiers included), the first '
        + ('batch' if timing_numbers['warmup_batches'] == 1
           else f'{timing_numbers["warmup_batches"]} batches')
        + ' of each pass left out (warm-up: what is loaded on first use), median (min–max) over '
        'the timed batches.'
        + (' The unguarded and guarded passes take turns batch by batch, so both meet the same '
           'load of the machine; guarded − unguarded compares each batch with the same turns '
           'unguarded, Canary\'s classification is its own share of the guarded time.'
           if GUARDED in sides else '')
        + ' A pass with one batch has none to time (`-`): a smaller `-bs` or more examples '
        'give more.', '']
    lines += [f'Whole report: {timing_numbers["report_seconds"]:.1f} s of wall time, from '
              f'{timing_numbers["report_seconds_counted_from"]} until this file was written '
              '(start-up, imports, loading the models, the passes, the charts; not Python\'s exit '
              'after it, which unloads torch and ParlAI).', '']
    return lines


def examples_section(examples, task, sides):
    lines = ['## Examples', '', f'### ProsocialDialog (`{task}`)', '']
    for example in examples[PROSOCIAL]:
        lines += [f'#### {level_name(example["safety_level"])}: dialogue '
                  f'{example["dialogue_id"]}, turn {example["response_id"]}', '']
        lines += [f'- context: {_quote(example["context"])}']
        if example['gold_rots'] is not None:
            lines += [f'- gold RoTs: {_rots(example["gold_rots"])}']
        lines += [f'- gold reply: {_quote(example["gold_reply"])}']
        if example['rots'] is not None:
            lines += [f'- the model\'s RoTs: {_rots(example["rots"])}']
        lines += [f'- the model: {_quote(example["reply"])}']
        if 'guarded_reply' in example:
            if example['guarded_rots'] is not None:
                lines += [f'- the model\'s RoTs with Canary in front: '
                          f'{_rots(example["guarded_rots"])}']
            lines += [f'- with Canary in front: {_quote(example["guarded_reply"])}',
                      _canary(example)]
        lines.append('')
    lines += ['### ToxiChat', '']
    for example in examples[TOXICHAT]:
        lines += [f'#### thread {example["thread_index"]}', '']
        lines += [f'- thread: {_quote(" / ".join((t or "").strip() for t in example["thread"]))}',
                  f'- the model: {_quote(example["reply"])} ({_counted(example["counted_as"])})']
        if 'guarded_reply' in example:
            lines += [f'- with Canary in front: {_quote(example["guarded_reply"])} '
                      f'({_counted(example["guarded_counted_as"])})', _canary(example)]
        lines.append('')
    return lines


def _rots(text):
    return _quote(text) if text else 'none'


def _canary(example):
    rots = f' {_quote(example["canary_rots"])}' if example['canary_rots'] else ''
    return f'- Canary: `{example["canary_label"]}`{rots} ({example["guard_action"]})'


def _counted(columns):
    return 'counted as: ' + (', '.join(columns) if columns else 'none of Table 5\'s columns')


def _quote(text):
    if text is None:
        return '-'
    return '"' + ' / '.join(str(text).split('\n')).replace('|', '\\|') + '"'
