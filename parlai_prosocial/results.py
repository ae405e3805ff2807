"""
One results-file format for every recipe and benchmark, and the README tables rendered from it.

A *results file* is JSON written by a script under ``projects/`` or ``benchmarks/`` (with
:func:`write`)::

    {
      "format": "parlai-prosocial-results/1",
      "name": "zero_shot",
      "script": "projects/prosocial_dialog/zero_shot/reproduce.py",
      "argv": [...],                      # how the script was called
      "created": "2026-12-01T15:20:00Z",
      "versions": {"python": ..., "parlai": ..., "torch": ..., "parlai_prosocial": "<git commit>"},
      "machine": {"platform": ..., "processor": ..., "cpu_count": 2, "torch_threads": 1, ...},
      "seeds": [0, 1, 2],
      "commands": ["parlai train_model ...", ...],   # every command the numbers come from
      "numbers": {...},                   # everything measured, raw
      "tables": {"NAME": {"columns": [...], "align": "lrr", "formats": [null, ".1f", ...],
                          "rows": [[cell, ...], ...]}}
    }

A table cell is a string (shown as is), a number (shown with its column's format), ``null``
(``-``) or ``{"values": [v, ...]}``, one value per seed or repeat, shown as
``median (min–max)``.

A README shows a table between two markers naming the file (relative to the README) and the
table::

    <!-- results: results.json#table5 -->
    | ... the rendered table ... |
    <!-- /results -->

``python -m parlai_prosocial.results render`` rewrites every marked table of the repository's
READMEs from the committed results files; ``python -m parlai_prosocial.results check`` fails (exit
1, one line per table) when a README table and its results file disagree, which a test runs.
"""

import argparse
import datetime
import glob
import json
import os
import platform
import re
import statistics
import subprocess
import sys

FORMAT = 'parlai-prosocial-results/1'

#: the repository checkout this module belongs to (``parlai_prosocial/..``)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MARKER = re.compile(
    r'(?P<open><!-- results: (?P<file>[^#\s]+)#(?P<table>[\w.-]+) -->\n)'
    r'(?P<body>.*?)'
    r'(?P<close><!-- /results -->)',
    re.S,
)


class ResultsError(Exception):
    """
    A results file or a README marker that cannot be used; the message is one readable line.
    """


# --- writing ------------------------------------------------------------------------------------


def _version(package):
    try:
        from importlib.metadata import version

        return version(package)
    except Exception:
        return None


def _git_commit():
    try:
        out = subprocess.run(
            ['git', 'rev-parse', 'HEAD'], cwd=REPO, capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(
            ['git', 'status', '--porcelain', '--untracked-files=no'],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + (' (with uncommitted changes)' if dirty.stdout.strip() else '')


def versions():
    """
    The versions that decide the numbers: Python, the pinned libraries, this checkout's commit.
    """
    found = {'python': platform.python_version()}
    for package in ('parlai', 'torch', 'transformers', 'numpy', 'pyarrow', 'msgspec'):
        found[package] = _version(package)
    found['parlai_prosocial'] = _git_commit()
    return found


def machine():
    info = {
        'platform': platform.platform(),
        'processor': platform.processor() or platform.machine(),
        'cpu_count': os.cpu_count(),
        'omp_num_threads': os.environ.get('OMP_NUM_THREADS'),
        # other processes share the CPU: timings taken under load are slower
        'load_average_at_end': list(os.getloadavg()) if hasattr(os, 'getloadavg') else None,
    }
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            names = [line.split(':', 1)[1].strip() for line in f if line.startswith('model name')]
        if names:
            info['cpu_model'] = names[0]
    except OSError:
        pass
    if 'torch' in sys.modules:
        import torch

        info['torch_threads'] = torch.get_num_threads()
        info['cuda'] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return info


def table(columns, rows, formats=None, align=None):
    """
    A table for a results file: ``columns`` (header strings), ``rows`` (lists of cells),
    ``formats`` (one format spec per column for numeric cells, e.g. ``'.1f'``), ``align``
    (``'l'``/``'r'`` per column; numbers right by default).
    """
    if any(len(row) != len(columns) for row in rows):
        raise ResultsError(f'every row needs {len(columns)} cells: {columns}')
    formats = list(formats or [None] * len(columns))
    if align is None:
        align = ''.join('l' if i == 0 else 'r' for i in range(len(columns)))
    return {'columns': list(columns), 'align': align, 'formats': formats, 'rows': rows}


def spread(values):
    """
    A cell holding one value per seed or repeat, rendered ``median (min–max)``.
    """
    return {'values': list(values)}


def portable(text):
    """
    ``text`` (an argument or a command) with this checkout's absolute paths, and those of the
    folders beside it (``../shared``), written relative to the repository root, where the
    scripts are run from: a results file records commands any clone can run, not this machine's.
    """
    root = REPO.rstrip(os.sep) + os.sep
    beside = os.path.dirname(REPO.rstrip(os.sep)) + os.sep
    text = text.replace(root, '')
    text = re.sub(re.escape(REPO.rstrip(os.sep)) + r'(?=$|[\s"\'=:])', '.', text)
    return text.replace(beside, '..' + os.sep)


def write(path, name, script, commands, numbers, tables, seeds=None, relative=True, **extra):
    """
    Write the results file ``path`` (JSON) with the versions and machine filled in; returns it.
    ``relative=False`` keeps the commands' paths as given (absolute ones rerun from any folder),
    instead of writing this checkout's relative to it (:func:`portable`).
    """
    as_written = portable if relative else str
    results = {
        'format': FORMAT,
        'name': name,
        'script': os.path.relpath(os.path.abspath(script), REPO),
        'argv': [as_written(a) for a in sys.argv[1:]],
        'created': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'versions': versions(),
        'machine': machine(),
        'seeds': seeds,
        'commands': [as_written(c) for c in commands],
        'numbers': numbers,
        'tables': tables,
    }
    results.update(extra)
    for table_name, t in tables.items():
        render_table(t)  # fails now, not when the README is rendered
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(results, f, indent=1, sort_keys=False)
        f.write('\n')
    return results


def publish(written, copy_to=None):
    """
    What a script does with the results it has just written: a copy to ``copy_to`` (its
    ``--results`` option) when given, and every table printed; returns the tables' Markdown.
    """
    if copy_to:
        with open(copy_to, 'w', encoding='utf-8') as f:
            json.dump(written, f, indent=1)
            f.write('\n')
    markdown = '\n'.join(render_table(t) for t in written['tables'].values())
    print(markdown)
    if copy_to:
        print(f'results file also written to {copy_to}')
    return markdown


# --- where a script writes ---------------------------------------------------------------------


def add_output_arguments(parser, default_help='not written'):
    """
    A script's ``--results PATH`` (its results file) and ``--overwrite``: results go where the
    user says, and an existing file there (e.g. the committed one a README table is rendered
    from) is replaced only when asked. ``default_help``: what happens without ``--results``.
    """
    parser.add_argument(
        '--results',
        help=f'also write the results file here (default: {default_help}); an existing file '
        'only with --overwrite',
    )
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='let --results replace an existing file (e.g. the committed results file)',
    )


def check_output(parser, path, overwrite, own=None):
    """
    Stop with one line (exit status 2) before any work, unless ``overwrite``: if ``path`` (the
    ``--results`` copy) exists, or if ``own`` (the results file the script writes into its output
    folder, which a rerun may replace) is a file committed to this repository (e.g. ``--out
    benchmarks/canary_guard``).
    """
    if overwrite:
        return
    if path and os.path.exists(path):
        parser.exit(
            2,
            f'{parser.prog}: error: --results {path} exists (a committed results file?): add '
            '--overwrite to replace it, or give another path\n',
        )
    if own and os.path.isfile(own) and _committed(own):
        parser.exit(
            2,
            f'{parser.prog}: error: {own} is a committed results file: give another output '
            'folder, or add --overwrite to replace it\n',
        )


def _committed(path):
    """
    Whether ``path`` is a file tracked by the git repository of this checkout (False without git).
    """
    try:
        tracked = subprocess.run(
            ['git', 'ls-files', '--error-unmatch', os.path.abspath(path)],
            cwd=REPO, capture_output=True,
        )
    except OSError:
        return False
    return tracked.returncode == 0


# --- reading and rendering ------------------------------------------------------------------------


def load(path):
    try:
        with open(path, encoding='utf-8') as f:
            results = json.load(f)
    except FileNotFoundError:
        raise ResultsError(f'{path}: no such results file')
    except json.JSONDecodeError as e:
        raise ResultsError(f'{path}: not JSON ({e.msg}, line {e.lineno})')
    if not isinstance(results, dict) or results.get('format') != FORMAT:
        raise ResultsError(f'{path}: not a results file (its "format" is not {FORMAT!r})')
    if not isinstance(results.get('tables'), dict):
        raise ResultsError(f'{path}: no "tables" object')
    return results


def _number(value, spec):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ResultsError(f'not a number: {value!r}')
    if spec:
        return format(value, spec)
    return f'{value:,}' if isinstance(value, int) else f'{value:g}'


def render_cell(cell, spec):
    if cell is None:
        return '-'
    if isinstance(cell, str):
        return cell
    if isinstance(cell, dict):
        values = cell.get('values')
        if not values:
            raise ResultsError(f'a spread cell needs a non-empty "values" list: {cell!r}')
        if len(values) == 1:
            return _number(values[0], spec)
        median = statistics.median(values)
        return (
            f'{_number(median, spec)} ({_number(min(values), spec)}–{_number(max(values), spec)})'
        )
    return _number(cell, spec)


def render_table(t):
    """
    The Markdown of a results-file table.
    """
    try:
        columns, rows = t['columns'], t['rows']
        formats = t.get('formats') or [None] * len(columns)
        align = t.get('align') or 'l' + 'r' * (len(columns) - 1)
    except (KeyError, TypeError):
        raise ResultsError(f'a table needs "columns" and "rows": {str(t)[:80]}')
    if len(formats) != len(columns) or len(align) != len(columns):
        raise ResultsError(f'"formats" and "align" need one entry per column: {columns}')
    lines = [
        '| ' + ' | '.join(columns) + ' |',
        '|' + '|'.join('---:' if a == 'r' else '---' for a in align) + '|',
    ]
    for row in rows:
        if len(row) != len(columns):
            raise ResultsError(f'a row has {len(row)} cells for {len(columns)} columns: {row}')
        lines.append(
            '| ' + ' | '.join(render_cell(c, f) for c, f in zip(row, formats)) + ' |'
        )
    return '\n'.join(lines) + '\n'


def readmes(repo=REPO):
    """
    Every README of the repository that can hold results tables.
    """
    found = [os.path.join(repo, 'README.md')]
    for folder in ('projects', 'benchmarks'):
        found += sorted(glob.glob(os.path.join(repo, folder, '**', '*.md'), recursive=True))
    return [p for p in found if os.path.isfile(p)]


def render_readme(path):
    """
    ``(new text, [(file, table, whether it changed)])`` for one README.
    """
    with open(path, encoding='utf-8') as f:
        text = f.read()
    here = os.path.dirname(os.path.abspath(path))
    seen = []
    cache = {}

    def replace(match):
        results_path = os.path.normpath(os.path.join(here, match['file']))
        if results_path not in cache:
            cache[results_path] = load(results_path)
        tables = cache[results_path]['tables']
        if match['table'] not in tables:
            raise ResultsError(
                f'{os.path.relpath(path, REPO)}: {match["file"]} has no table {match["table"]!r} '
                f'(it has: {", ".join(tables) or "none"})'
            )
        body = render_table(tables[match['table']])
        seen.append((match['file'], match['table'], body != match['body']))
        return match['open'] + body + match['close']

    try:
        new_text = MARKER.sub(replace, text)
    except ResultsError as e:
        message = str(e)
        if not message.startswith(os.path.relpath(path, REPO)):
            message = f'{os.path.relpath(path, REPO)}: {message}'
        raise ResultsError(message)
    return new_text, seen


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m parlai_prosocial.results',
        description='Render the README tables from the committed results files, or check them.',
    )
    parser.add_argument('command', choices=['render', 'check', 'show'])
    parser.add_argument(
        'paths', nargs='*', help='READMEs (render/check; default: all) or a results file (show)'
    )
    args = parser.parse_args(argv)
    try:
        if args.command == 'show':
            for path in args.paths:
                for name, t in load(path)['tables'].items():
                    print(f'{path}#{name}\n{render_table(t)}')
            return 0
        stale = []
        count = 0
        for path in args.paths or readmes():
            new_text, seen = render_readme(path)
            count += len(seen)
            for file, table_name, changed in seen:
                if changed:
                    stale.append(f'{os.path.relpath(path, REPO)}: table {file}#{table_name}')
            if args.command == 'render':
                with open(path, encoding='utf-8') as f:
                    old = f.read()
                if new_text != old:
                    with open(path, 'w', encoding='utf-8') as f:
                        f.write(new_text)
    except ResultsError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    if args.command == 'check':
        for line in stale:
            print(f'{line} disagrees with its results file (run: python -m '
                  'parlai_prosocial.results render)', file=sys.stderr)
        if stale:
            return 1
        print(f'{count} README tables agree with their results files')
    else:
        print(f'{count} README tables rendered, {len(stale)} changed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
