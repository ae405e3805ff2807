"""
The report folder: ``results.json`` (the project's results format), ``report.md`` and the PNG
charts it shows, all from the passes' reports and per-example records.
"""

import os
import random
import shlex

from parlai_prosocial import results
from parlai_prosocial.formats import (
    GUARD_ROTS_TEXT_FIELD,
    SAFETY_LABELS,
    TABLE5_METRICS,
    TOXICHAT_AMBIGUOUS_METRICS,
)
from parlai_prosocial.parlai_fixes import EVAL_SEED

from .script import GUARDED, PROSOCIAL, TOXICHAT, UNGUARDED

#: Table 3's columns, then what RoT & Response models add, in this order when reported
QUALITY_METRICS = ('bleu-4', 'f1', 'ppl', 'rot_bleu-4', 'rot_f1', 'response_ppl')
#: Table 5's columns (shares of replies), then the ambiguous shares, with their headers
TOXICHAT_METRICS = {**TABLE5_METRICS, **TOXICHAT_AMBIGUOUS_METRICS}
CHARTS = {
    'quality': 'quality_by_level.png',
    'toxichat': 'toxichat.png',
    'steered': 'steered_by_level.png',
}


def level_name(label):
    return label.strip('_').replace('_', ' ')


def write_report(args, argv, passes, facts):
    """
    Write the folder ``args.report_dir``; returns the results (as written to results.json).
    """
    out = os.path.abspath(args.report_dir)
    os.makedirs(out, exist_ok=True)
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
    timing = {'total_seconds': facts['seconds']}
    for dataset in (PROSOCIAL, TOXICHAT):
        per_turn = {s: by_key[(dataset, s)].seconds / max(1, len(by_key[(dataset, s)].records))
                    for s in sides}
        timing[dataset] = {'seconds_per_turn': per_turn}
        if GUARDED in per_turn:
            guarded = by_key[(dataset, GUARDED)]
            # Canary's own time (measured around it), per turn: what putting it in front adds
            timing[dataset]['added_seconds_per_turn'] = guarded.canary_seconds / max(
                1, len(guarded.records))
    numbers['timing'] = timing
    examples = choose_examples(by_key, sides, args.examples_per_level, args.examples_seed)

    tables = {'quality': quality_table(numbers, sides), 'toxichat': toxichat_table(numbers, sides)}
    if GUARDED in sides:
        tables['steering'] = steering_table(numbers)
    tables['time'] = time_table(numbers, sides)
    charts = draw_charts(out, numbers, sides)

    commands = [shlex.join(['python', '-m', 'parlai_prosocial.report'] + list(argv))]
    commands += [p.command for p in passes]
    written = results.write(
        os.path.join(out, 'results.json'), 'prosocial_report',
        os.path.join(os.path.dirname(os.path.abspath(__file__)), 'script.py'),
        commands, numbers, tables,
        seeds={'generation': EVAL_SEED, 'examples': args.examples_seed},
        argv=[results.portable(a) for a in argv],
        inputs=inputs(args, facts, passes),
        examples=examples,
        charts=charts,
    )
    with open(os.path.join(out, 'report.md'), 'w') as f:
        f.write(markdown(written, sides, charts))
    return written


def inputs(args, facts, passes):
    """
    What the report was given, paths written as the recorded commands write them.
    """
    unguarded = passes[0].opt
    found = {
        'model': {k: unguarded.get(k) for k in ('model', 'model_file', 'model_name')
                  if unguarded.get(k)},
        'guard_model_file': args.guard_model_file,
        'guard_args': args.guard_args or None,
        'prosocial_task': facts['prosocial_task'],
        'toxichat_classifiers': facts['classifiers'],
        'toxichat_classifier_input': facts['classifier_input'],
        'toxichat_classifiers_trained_with': facts['classifier_modes'],
        'num_examples': unguarded.get('num_examples'),
    }
    return _portable(found)


def _portable(value):
    if isinstance(value, str):
        return results.portable(value)
    if isinstance(value, dict):
        return {k: _portable(v) for k, v in value.items()}
    return value


def _percent(value):
    return None if value is None else 100 * value


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
        row = [name, count]
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


def time_table(numbers, sides):
    rows = []
    for dataset, name in ((PROSOCIAL, 'ProsocialDialog'), (TOXICHAT, 'ToxiChat')):
        timing = numbers['timing'][dataset]
        row = [name] + [1000 * timing['seconds_per_turn'][side] for side in sides]
        if GUARDED in sides:
            row.append(1000 * timing['added_seconds_per_turn'])
        rows.append(row)
    columns = ['dataset'] + [f'ms per turn, {side}' for side in sides]
    if GUARDED in sides:
        columns.append('of which Canary, ms per turn')
    return results.table(columns, rows, [None] + ['.1f'] * (len(columns) - 1))


def choose_examples(by_key, sides, per_level, seed):
    """
    Up to ``per_level`` turns of each safety level, chosen with ``seed``, in data order: the
    context, the gold reply, the model's reply and, with Canary, the guarded reply and Canary's
    decision (from the guarded pass: computed once).
    """
    unguarded = by_key[(PROSOCIAL, UNGUARDED)].records
    guarded = by_key[(PROSOCIAL, GUARDED)].records if GUARDED in sides else None
    rng = random.Random(seed)
    chosen = []
    for level in SAFETY_LABELS:
        indices = [i for i, (act, _) in enumerate(unguarded) if act.get('safety_label') == level]
        for i in sorted(rng.sample(indices, min(per_level, len(indices)))):
            act, reply = unguarded[i]
            example = {
                'safety_level': level,
                'dialogue_id': act.get('dialogue_id'),
                'response_id': act.get('response_id'),
                'context': act.get('text'),
                'gold_reply': (act.get('eval_labels') or act.get('labels') or [None])[0],
                'reply': reply.get('text'),
            }
            if guarded is not None:
                guarded_act, guarded_reply = guarded[i]
                assert guarded_act.get('text') == act.get('text'), 'the passes saw other data'
                example.update(
                    guarded_reply=guarded_reply.get('text'),
                    canary_label=guarded_reply.get('safety_label'),
                    canary_rots=guarded_reply.get(GUARD_ROTS_TEXT_FIELD),
                    guard_action=guarded_reply.get('guard_action'),
                )
            chosen.append(example)
    return chosen


# --- charts ---------------------------------------------------------------------------------------


def _pyplot():
    import matplotlib  # there: checked before the passes (script.ProsocialReport.plan)

    matplotlib.use('Agg')  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def _bars(ax, groups, series, title, ylabel):
    """
    Grouped bars: ``series`` is ``[(name, [value per group])]``; a missing value draws nothing.
    """
    width = 0.8 / max(1, len(series))
    for n, (name, values) in enumerate(series):
        xs = [g + (n - (len(series) - 1) / 2) * width for g in range(len(groups))]
        ax.bar(xs, [v if v is not None else 0 for v in values], width, label=name)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=30, ha='right', fontsize=7)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel, fontsize=8)
    if len(series) > 1:
        ax.legend(fontsize=7)


def draw_charts(out, numbers, sides):
    """
    The PNG charts, written into ``out``; ``{chart: file name}``.
    """
    plt = _pyplot()
    charts = {}
    prosocial = numbers[PROSOCIAL]
    levels = [lv for lv in SAFETY_LABELS if lv in prosocial[UNGUARDED]['by_level']]
    metrics = [m for m in ('bleu-4', 'f1', 'ppl') if m in prosocial[UNGUARDED]['overall']]
    if metrics and levels:
        fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.6), squeeze=False)
        for ax, metric in zip(axes[0], metrics):
            series = [(side, [prosocial[side]['by_level'].get(lv, {}).get(metric)
                              for lv in levels]) for side in sides]
            _bars(ax, [level_name(lv) for lv in levels], series, metric, metric)
        fig.suptitle('ProsocialDialog test, by the context\'s safety level', fontsize=11)
        charts['quality'] = _save(fig, out, CHARTS['quality'])
    toxichat = numbers[TOXICHAT]
    shares = [m for m in TOXICHAT_METRICS if m in toxichat[UNGUARDED]['overall']]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    _bars(ax, [TOXICHAT_METRICS[m] for m in shares],
          [(side, [_percent(toxichat[side]['overall'][m]) for m in shares]) for side in sides],
          'ToxiChat test: shares of replies (Table 5)', '% of replies')
    charts['toxichat'] = _save(fig, out, CHARTS['toxichat'])
    plt.close('all')
    if GUARDED in sides and levels:
        fig, ax = plt.subplots(figsize=(6, 3.6))
        _bars(ax, [level_name(lv) for lv in levels],
              [('steered', [_percent(prosocial[GUARDED]['by_level'].get(lv, {}).get(
                  'guard_steered')) for lv in levels])],
              'Turns Canary steered, by safety level', '% of turns')
        charts['steered'] = _save(fig, out, CHARTS['steered'])
    plt.close('all')
    return charts


def _save(fig, out, name):
    # fixed margins for the rotated level names (tight_layout measures every text: slower)
    fig.subplots_adjust(bottom=0.3, top=0.85, wspace=0.35)
    fig.savefig(os.path.join(out, name), dpi=100)
    return name


# --- report.md ------------------------------------------------------------------------------------


def markdown(written, sides, charts):
    facts = written['inputs']
    numbers = written['numbers']
    model = ', '.join(f'{k} `{results.portable(str(v))}`' for k, v in facts['model'].items())
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
            f'`{results.portable(path)}` (trained on {trained.get(option) or "unknown"} input)'
            for option, path in classifiers.items())
            + f'; scored with `--toxichat-classifier-input {facts["toxichat_classifier_input"]}`']
    else:
        lines += ['- ToxiChat classifiers: none given, so only the bad-word share is reported']
    capped = facts['num_examples'] and facts['num_examples'] > 0
    lines += [f'- data: ProsocialDialog test (`-t {facts["prosocial_task"]}`), ToxiChat test'
              + (f'; at most {facts["num_examples"]} examples each (`-ne`)' if capped else '')]
    lines += [f'- versions: ParlAI {written["versions"].get("parlai")}, torch '
              f'{written["versions"].get("torch")}, parlai_prosocial '
              f'{written["versions"].get("parlai_prosocial")}; seeds: '
              + ', '.join(f'{k} {v}' for k, v in written['seeds'].items()), '']
    lines += ['Every number is what the `parlai eval_model` command of its pass reports (listed '
              'at the end); the per-level rows sum the same per-example metrics. Everything is in '
              '`results.json`.', '']
    lines += ['## Response quality on ProsocialDialog (Table 3), by safety level', '',
              results.render_table(written['tables']['quality'])]
    if 'quality' in charts:
        lines += [f'![BLEU-4, F1 and perplexity by safety level]({charts["quality"]})', '']
    lines += ['## ToxiChat (Table 5)', '', results.render_table(written['tables']['toxichat']),
              f'![ToxiChat shares]({charts["toxichat"]})', '']
    if GUARDED in sides:
        lines += ['## Canary in front', '', results.render_table(written['tables']['steering'])]
        if 'steered' in charts:
            lines += [f'![Turns Canary steered by safety level]({charts["steered"]})', '']
    lines += ['## Time', '', results.render_table(written['tables']['time'])]
    lines += [f'Whole report: {numbers["timing"]["total_seconds"]:.1f} s.', '']
    lines += ['## Examples', '']
    for example in written['examples']:
        lines += [f'### {level_name(example["safety_level"])}: dialogue '
                  f'{example["dialogue_id"]}, turn {example["response_id"]}', '']
        lines += [f'- context: {_quote(example["context"])}',
                  f'- gold reply: {_quote(example["gold_reply"])}',
                  f'- model: {_quote(example["reply"])}']
        if 'guarded_reply' in example:
            lines += [f'- with Canary: {_quote(example["guarded_reply"])}',
                      f'- Canary: `{example["canary_label"]}` {_quote(example["canary_rots"])} '
                      f'({example["guard_action"]})']
        lines.append('')
    lines += ['## Commands', '', 'The report, then the `eval_model` command of each pass:', '',
              '```bash'] + written['commands'] + ['```', '']
    return '\n'.join(lines)


def _quote(text):
    if text is None:
        return '-'
    return '"' + ' / '.join(str(text).split('\n')).replace('|', '\\|') + '"'
