"""
The results files behind the README tables (issue 11 §2): the committed READMEs agree with the
committed results files, rendering is exact, and a disagreement or a bad file is one readable line.
"""

import glob
import json
import os
import subprocess
import sys

import pytest

from parlai_prosocial import results


def test_every_readme_table_agrees_with_its_results_file():
    stale = []
    count = 0
    for path in results.readmes():
        new_text, seen = results.render_readme(path)
        count += len(seen)
        stale += [f'{os.path.relpath(path, results.REPO)}: {f}#{t}' for f, t, changed in seen if changed]
    assert not stale, (
        f'README tables that disagree with their results files: {stale}; '
        'run python -m parlai_prosocial.results render'
    )
    assert count >= 5  # zero-shot, toxichat and canary_guard tables are all rendered


def test_committed_results_files_are_complete(repo_dir):
    # every results file of a recipe or benchmark, whoever adds one
    files = sorted(
        os.path.relpath(path, repo_dir)
        for top in ('projects', 'benchmarks')
        for path in glob.glob(os.path.join(repo_dir, top, '**', 'results*.json'), recursive=True)
    )
    assert {
        'projects/prosocial_dialog/zero_shot/results.json',
        'projects/prosocial_dialog/toxichat/results.json',
        'projects/prosocial_dialog/toxichat/results_pair.json',
        'projects/prosocial_dialog/table2/results.json',
        'benchmarks/canary_guard/results.json',
        'benchmarks/train_throughput/results.json',
        'benchmarks/prosocial_load/results.json',
    } <= set(files)
    for name in files:
        data = results.load(os.path.join(repo_dir, name))
        assert data['commands'] and data['seeds'] is not None, name
        assert data['versions']['parlai'] == '1.7.2', name
        assert data['versions']['torch'], name
        assert os.path.isfile(os.path.join(repo_dir, data['script'])), name
        assert data['tables'], name
        for t in data['tables'].values():
            results.render_table(t)


def _readme(tmp_path, body):
    folder = tmp_path / 'project'
    folder.mkdir(exist_ok=True)
    (folder / 'README.md').write_text(body)
    return str(folder / 'README.md')


def _results(tmp_path, rows):
    path = str(tmp_path / 'project' / 'results.json')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    results.write(
        path, name='demo', script=__file__, commands=['parlai train_model ...'],
        numbers={'x': 1}, seeds=[0, 1, 2],
        tables={'main': results.table(['model', 'f1', 'n'], rows, formats=[None, '.3f', None])},
    )
    return path


def test_render_fills_the_marked_table_and_check_sees_a_change(tmp_path):
    _results(tmp_path, [['a', results.spread([0.5, 0.25, 0.75]), 1200], ['b', 0.1, None]])
    readme = _readme(
        tmp_path,
        'Intro.\n\n<!-- results: results.json#main -->\n| stale |\n<!-- /results -->\n\nEnd.\n',
    )
    assert results.main(['check', readme]) == 1
    assert results.main(['render', readme]) == 0
    text = open(readme).read()
    assert text == (
        'Intro.\n\n<!-- results: results.json#main -->\n'
        '| model | f1 | n |\n|---|---:|---:|\n'
        '| a | 0.500 (0.250–0.750) | 1,200 |\n| b | 0.100 | - |\n'
        '<!-- /results -->\n\nEnd.\n'
    )
    assert results.main(['check', readme]) == 0
    # a typed-in change to a number is caught
    with open(readme, 'w') as f:
        f.write(text.replace('0.100', '0.200'))
    assert results.main(['check', readme]) == 1


def test_results_file_records_versions_seeds_and_commands(tmp_path):
    data = json.load(open(_results(tmp_path, [['a', 1.0, 2]])))
    assert data['format'] == results.FORMAT
    assert data['seeds'] == [0, 1, 2]
    assert data['commands'] == ['parlai train_model ...']
    assert data['versions']['parlai'] == '1.7.2'
    assert data['machine']['cpu_count'] >= 1
    assert data['script'] == os.path.relpath(__file__, results.REPO)


@pytest.mark.parametrize(
    'content, message',
    [
        (None, 'no such results file'),
        ('{not json', 'not JSON'),
        ('{"format": "other", "tables": {}}', 'not a results file'),
        ('{"format": "parlai-prosocial-results/1", "tables": {"other": '
         '{"columns": ["a"], "rows": []}}}', "has no table 'main'"),
    ],
)
def test_bad_results_file_is_one_readable_line(tmp_path, content, message):
    readme = _readme(tmp_path, '<!-- results: results.json#main -->\n<!-- /results -->\n')
    if content is not None:
        (tmp_path / 'project' / 'results.json').write_text(content)
    out = subprocess.run(
        [sys.executable, '-m', 'parlai_prosocial.results', 'check', readme],
        capture_output=True, text=True,
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr


def test_a_row_of_the_wrong_width_is_refused(tmp_path):
    with pytest.raises(results.ResultsError, match='every row needs 2 cells'):
        results.table(['a', 'b'], [['x']])


def test_recorded_commands_hold_no_path_of_this_machine(repo_dir):
    here = os.path.dirname(repo_dir)
    assert results.portable(f'--results {repo_dir}/benchmarks/x/results.json --mf {repo_dir}') == (
        '--results benchmarks/x/results.json --mf .'
    )
    assert results.portable(f'--data-dir {here}/shared/data/toxichat --out /tmp/run') == (
        '--data-dir ../shared/data/toxichat --out /tmp/run'
    )
    assert results.portable(f'{repo_dir}ly/x') == f'..{os.sep}{os.path.basename(repo_dir)}ly/x'
    # what is committed: results files and the READMEs showing their commands
    committed = subprocess.run(
        ['git', 'ls-files', '*.json', '*.md'], cwd=repo_dir, capture_output=True, text=True
    ).stdout.split()
    for name in committed:
        with open(os.path.join(repo_dir, name), encoding='utf-8') as f:
            assert here + os.sep not in f.read(), name
