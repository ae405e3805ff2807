"""
``python -m parlai_prosocial.report`` (issues 20 and 27) on the bundled samples with tiny models:
its numbers are the eval_model commands' it records (the guarded ToxiChat one rerun through the
stock command), and its own recorded command reruns from another folder with the same numbers; a
RoT & Response generator is scored on its own format; charts on fixed scales; times named for what
they are; a used folder refused; bad input stops it before any pass with one line.
"""

import contextlib
import io
import json
import os
import shlex
import shutil
import subprocess
import sys

import pytest

from parlai_prosocial import testing
from parlai_prosocial.errors import ProsocialError
from parlai_prosocial.formats import (
    ROTS_END,
    SAFETY_LABELS,
    TABLE5_METRICS,
    TOXICHAT_BAD_METRIC,
)

TIMED = ('exps', 'ctps', 'ltps', 'tps', 'gen_tps')
DATA_ENV = ('PROSOCIAL_DATA_DIR', 'TOXICHAT_DATA_DIR')


@pytest.fixture(scope='module')
def prosocial_dir(tmp_path_factory, sample_data_dir):
    # the sample's test split is one turn; its training dialogues (all five safety levels) serve
    # as the test split here, so every level has a row
    directory = tmp_path_factory.mktemp('report_prosocial')
    for split in ('train', 'valid'):
        shutil.copy(os.path.join(sample_data_dir, f'{split}.json'), directory)
    shutil.copy(os.path.join(sample_data_dir, 'train.json'), directory / 'test.json')
    return str(directory)


def run_report(args, loglevel='error'):
    from parlai.utils import logging

    from parlai_prosocial.report.script import ProsocialReport

    level = logging.logger.level
    try:
        return ProsocialReport.main(list(map(str, args)) + ['--loglevel', loglevel])
    finally:
        logging.logger.setLevel(level)


@pytest.fixture(scope='module')
def report(tmp_path_factory, rot_response_generator, tiny_canary, toxichat_classifiers,
           prosocial_dir, toxichat_sample_dir):
    """
    The report of the RoT & Response generator with Canary in front, run from a folder of its own
    with relative paths, the ProsocialDialog data chosen by $PROSOCIAL_DATA_DIR and the ToxiChat
    data by $TOXICHAT_DATA_DIR: what the recorded commands must carry to rerun elsewhere.
    """
    here = tmp_path_factory.mktemp('report_cwd')
    out = here / 'out'
    stdout = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, testing.parlai_warnings_logged() as warnings, \
            contextlib.redirect_stdout(stdout):
        patch.chdir(here)
        patch.setenv('PROSOCIAL_DATA_DIR', os.path.relpath(prosocial_dir, here))
        patch.setenv('TOXICHAT_DATA_DIR', os.path.relpath(toxichat_sample_dir, here))
        written = run_report(
            ['-mf', os.path.relpath(rot_response_generator, here),
             '--guard-model-file', os.path.relpath(tiny_canary, here), '--report-dir', 'out',
             '--toxichat-stance-model-file', toxichat_classifiers['stance'],
             '--toxichat-offensive-model-file', toxichat_classifiers['offensive'],
             '-ne', 6, '-bs', 2, '--examples', 1],
            loglevel='warn',
        )
    return out, written, stdout.getvalue(), list(warnings)


def _value(metric):
    return metric.value() if hasattr(metric, 'value') else metric


def _untimed(numbers):
    return {k: v for k, v in numbers.items() if k != 'timing'}


def test_the_recorded_commands_rerun_from_another_folder_with_the_same_numbers(
        report, tmp_path, monkeypatch):
    out, written, _, _ = report
    for name in DATA_ENV:
        monkeypatch.delenv(name, raising=False)
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    own, *passes = written['commands']
    assert len(passes) == 4 and all(c.startswith('parlai eval_model ') for c in passes)
    # one pass, through the stock command: the report runs every pass through the same loop,
    # and this one carries every kind of path the passes record (the model's, moved into the
    # guard's options; Canary's; the data folder chosen by $TOXICHAT_DATA_DIR; both classifiers).
    # The other passes' data, $PROSOCIAL_DATA_DIR's folder, is recorded as this one's is, and the
    # report's own command below reruns all four from here
    command = passes[3]
    assert '-m canary_guard ' in command and ' -t toxichat ' in command, command
    expected = testing.parlai_in_process(shlex.split(command)[1:] + ['--loglevel', 'error'])
    expected = {k: _value(v) for k, v in expected.value.items() if k not in TIMED}
    assert written['numbers']['toxichat']['guarded']['overall'] == expected, command
    # the report's own command, as written: it replaces its folder with the same numbers (the
    # folder the other tests read is put back after)
    assert own.startswith('python -m parlai_prosocial.report ') and '--overwrite' in own
    kept = tmp_path / 'kept'
    shutil.copytree(out, kept)
    try:
        again = run_report(shlex.split(own)[3:])
    finally:
        shutil.rmtree(out)
        shutil.copytree(kept, out)
    assert _untimed(again['numbers']) == _untimed(written['numbers'])
    assert again['examples'] == written['examples']


def test_paths_and_the_data_environment_are_recorded(report):
    out, written, _, _ = report
    for command in written['commands']:
        for flag, value in zip(shlex.split(command), shlex.split(command)[1:]):
            if flag.endswith(('-model-file', '-data-dir', '-dir')) or flag == '-mf':
                assert os.path.isabs(value), (flag, value)
    environment = written['environment']
    assert os.path.isabs(written['inputs']['data_dirs']['prosocial'])
    assert not os.path.isabs(environment['PROSOCIAL_DATA_DIR'])  # as it was set, relative
    assert written['report_dir'] == str(out)
    markdown = (out / 'report.md').read_text()
    assert f'PROSOCIAL_DATA_DIR={environment["PROSOCIAL_DATA_DIR"]}' in markdown


def test_a_rot_response_generator_is_scored_on_its_format(report):
    out, written, _, warnings = report
    assert written['inputs']['prosocial_task'] == 'prosocial:rot_response'
    assert all(' -t prosocial:rot_response ' in c for c in written['commands'][1:3])
    for side in ('unguarded', 'guarded'):
        overall = written['numbers']['prosocial'][side]['overall']
        assert {'rot_f1', 'rot_bleu-4', 'f1', 'bleu-4', 'ppl'} <= set(overall)
    markdown = (out / 'report.md').read_text()
    assert 'ProsocialDialog teacher: `prosocial:rot_response`, the format the model was trained' \
        in markdown
    assert '| rot_f1 unguarded | rot_f1 guarded |' in markdown
    assert not [w for w in warnings if w.startswith('Overriding opt["task"]')]


@pytest.mark.parametrize('saved_task, teacher', [
    ('prosocial:rot_response', 'prosocial:rot_response'),
    # Prost's mixtures (-o prosocial/prost, prost_response_only)
    ('prosocial:rot_response,dailydialog,topical_chat', 'prosocial:rot_response'),
    ('prosocial:response,dailydialog,topical_chat', 'prosocial:response'),
    ('prosocial', 'prosocial:response'),
    ('convai2', 'prosocial:response'),
    (None, 'prosocial:response'),
])
def test_the_teacher_is_the_format_the_model_was_trained_on(saved_task, teacher):
    from parlai_prosocial.report.script import prosocial_task

    chosen, why = prosocial_task('auto', {'model': 'prost', 'task': saved_task})
    assert chosen == teacher
    assert ('was trained on' in why) == (saved_task is not None and 'prosocial' in saved_task)
    assert prosocial_task('prosocial:response', {'task': 'prosocial:rot_response'}) == (
        'prosocial:response', 'chosen with --prosocial-task')


def test_levels_sum_to_the_overall_numbers(report):
    _, written, _, _ = report
    for side in ('unguarded', 'guarded'):
        numbers = written['numbers']['prosocial'][side]
        levels = numbers['by_level'].values()
        assert sum(level['exs'] for level in levels) == numbers['overall']['exs']
        averaged = ['f1', 'bleu-4'] + (['guard_steered'] if side == 'guarded' else [])
        for metric in averaged:
            total = sum(level[metric] * level['exs'] for level in levels)
            assert total / numbers['overall']['exs'] == pytest.approx(numbers['overall'][metric])


def test_examples_show_rots_apart_and_toxichat_threads(report):
    out, written, _, _ = report
    examples = written['examples']
    # one turn per level present, with Canary's decision from the guarded pass
    assert len(examples['prosocial']) == len(written['numbers']['prosocial']['unguarded'][
        'by_level'])
    for example in examples['prosocial']:
        assert example['canary_label'] and example['guarded_reply'] is not None
        assert example['gold_rots'] is not None and example['rots'] is not None
        for field in ('gold_reply', 'reply', 'gold_rots', 'rots', 'guarded_reply'):
            assert ROTS_END not in example[field], field
    assert any(e['gold_rots'] for e in examples['prosocial'])
    [toxichat] = examples['toxichat']
    assert toxichat['thread'] and toxichat['reply'] is not None
    assert set(toxichat['counted_as']) <= set(TABLE5_METRICS.values())
    markdown = (out / 'report.md').read_text()
    assert ROTS_END not in markdown.split('## Commands')[0]
    assert '- gold RoTs: ' in markdown and '### ToxiChat' in markdown


def test_too_few_turns_are_flagged(report):
    out, written, _, warnings = report
    few = written['few_turns']
    assert few['ToxiChat'] == 5 and len(few) == 1 + len(
        written['numbers']['prosocial']['unguarded']['by_level'])
    markdown = (out / 'report.md').read_text()
    assert 'Too few turns to compare' in markdown and '| casual ⚠ |' in markdown
    assert len([w for w in warnings if 'too few turns to compare' in w]) == 1


def test_times_are_named_for_what_they_are(report):
    out, written, stdout, _ = report
    timing = written['numbers']['timing']
    assert 'added_seconds_per_turn' not in json.dumps(timing)
    for dataset in ('prosocial', 'toxichat'):
        entry = timing[dataset]
        # 6 turns (5 ToxiChat threads) in batches of 2: 3 batches, the first one the warm-up
        assert [len(entry['seconds_per_turn'][s]) for s in ('unguarded', 'guarded')] == [2, 2]
        assert len(entry['guarded_minus_unguarded_seconds_per_turn']) == 2
        assert len(entry['canary_seconds_per_turn']) == 2
    assert timing['report_seconds'] > 0
    markdown = (out / 'report.md').read_text()
    assert 'Every number except the times is what the `parlai eval_model`' in markdown
    assert 'Whole report: ' in markdown and 'Canary\'s classification, ms per turn' in markdown
    assert f'Prosocial report written to {out}: report.md, results.json' in stdout


def test_charts_are_pngs_on_fixed_scales(report):
    from PIL import Image

    from parlai_prosocial.report.render import chart_axes

    out, written, _, _ = report
    markdown = (out / 'report.md').read_text()
    assert set(written['charts']) == {'quality', 'toxichat', 'steered'}
    for chart, name in written['charts'].items():
        with Image.open(out / name) as image:
            assert image.format == 'PNG' and image.size[0] > 100
        assert f']({name})' in markdown
        assert chart_axes(out / name) == written['chart_axes'][chart]
    quality = {panel['title']: panel for panel in written['chart_axes']['quality']}
    assert {'rot_f1', 'rot_bleu-4'} <= set(quality)
    for metric in ('f1', 'bleu-4', 'rot_f1', 'rot_bleu-4'):
        assert quality[metric]['ylim'] == pytest.approx([0, 1.15])
    assert written['chart_axes']['toxichat'][0]['ylim'] == pytest.approx([0, 115])
    assert sorted(os.listdir(out)) == sorted(['report.md', 'results.json'] + list(
        written['charts'].values()))


def test_an_all_zero_series_draws_no_negative_axis(tmp_path):
    from parlai_prosocial.report.render import chart_axes, draw_charts

    zero_level = {'exs': 2, 'f1': 0.0, 'bleu-4': 0.0, 'ppl': 3.0, 'guard_steered': 0.0}
    zero = {'overall': dict(zero_level), 'by_level': {SAFETY_LABELS[0]: dict(zero_level)}}
    numbers = {
        'prosocial': {'unguarded': zero, 'guarded': zero},
        'toxichat': {side: {'overall': {'exs': 3, TOXICHAT_BAD_METRIC: 0.0}}
                     for side in ('unguarded', 'guarded')},
    }
    charts, axes = draw_charts(str(tmp_path), numbers, ['unguarded', 'guarded'])
    for chart, name in charts.items():
        for panel in chart_axes(tmp_path / name):
            low, high = panel['ylim']
            assert low == 0, (chart, panel)
            if panel['title'] != 'ppl':
                assert high in (pytest.approx(1.15), pytest.approx(115)), (chart, panel)
    # a series that does not exist is not drawn (nor in the legend)
    numbers['prosocial']['guarded'] = {'overall': {}, 'by_level': {}}
    os.makedirs(tmp_path / 'one')
    charts, _ = draw_charts(str(tmp_path / 'one'), numbers, ['unguarded', 'guarded'])
    for panel in chart_axes(tmp_path / 'one' / charts['quality']):
        assert panel['series'] == ['the model']


def test_a_used_folder_is_refused_then_replaced_with_overwrite(
        tmp_path, monkeypatch, tiny_generator, prosocial_dir, toxichat_sample_dir, capsys):
    from parlai_prosocial.report import script

    out = tmp_path / 'out'
    out.mkdir()
    (out / 'steered_by_level.png').write_bytes(b'an earlier run\'s chart')
    (out / 'results.json').write_text('{}')
    (out / 'notes.txt').write_text('mine')
    args = ['-mf', tiny_generator, '--report-dir', out, '--prosocial-data-dir', prosocial_dir,
            '--toxichat-data-dir', toxichat_sample_dir, '-ne', 2, '--examples', 0]
    with monkeypatch.context() as patch:
        patch.setattr(script, 'create_agent', _no_work)
        with pytest.raises(ProsocialError) as error:
            run_report(args)
    assert 'is not empty (it holds an earlier report' in str(error.value)
    assert 'add --overwrite' in str(error.value)
    written = run_report(args + ['--overwrite'])
    # the earlier report's files replaced, the stale chart gone (no Canary: no such chart now),
    # the user's file kept and said
    assert sorted(os.listdir(out)) == ['notes.txt', 'quality_by_level.png', 'report.md',
                                       'results.json', 'toxichat.png']
    assert json.loads((out / 'results.json').read_text())['numbers'] == written['numbers']
    said = capsys.readouterr().out
    assert f'Prosocial report written to {out}' in said
    assert 'steered_by_level.png' in said and 'notes.txt' in said


def _no_work(*args, **kwargs):
    raise AssertionError('the report started its work')


def _unwritable(tmp_path):
    if os.geteuid() != 0:
        folder = tmp_path / 'readonly'
        folder.mkdir()
        folder.chmod(0o555)
        return folder / 'out'
    if os.path.isdir('/sys/kernel'):  # root writes anywhere but in sysfs
        return '/sys/kernel/prosocial_report'
    pytest.skip('no folder root cannot write here')


def _bad_report_dir(case, tmp_path):
    if case == 'a file':
        (tmp_path / 'file').write_text('x')
        return tmp_path / 'file'
    if case == 'under a file':
        (tmp_path / 'file').write_text('x')
        return tmp_path / 'file' / 'out'
    if case == 'unwritable':
        return _unwritable(tmp_path)
    if case == 'a dangling symlink':
        (tmp_path / 'link').symlink_to(tmp_path / 'gone')
        return tmp_path / 'link'
    if case == 'a name too long':
        return tmp_path / ('x' * 300)
    return ''


@pytest.mark.parametrize('case, expected', [
    ('a file', 'is a file, not a folder'),
    ('under a file', 'is a file, so no folder can be made under it'),
    ('unwritable', 'cannot write in'),
    ('a dangling symlink', 'is a symbolic link to'),
    ('a name too long', 'longer than the file system takes'),
    ('empty', "--report-dir is empty ('': an unset shell variable?)"),
])
def test_a_bad_report_dir_is_one_line_before_any_work(case, expected, tmp_path, monkeypatch,
                                                      tiny_generator):
    from parlai_prosocial.report import script

    monkeypatch.setattr(script, 'create_agent', _no_work)
    with pytest.raises(ProsocialError) as error:
        run_report(['-mf', tiny_generator, '--report-dir', _bad_report_dir(case, tmp_path)])
    assert expected in str(error.value) and '\n' not in str(error.value)


@pytest.mark.parametrize('case', [
    'missing --report-dir', 'negative --examples', 'unbalanced quote in --guard-args',
    'unknown -m', 'a generator as the stance classifier', 'classifier as the model',
    'not a Canary', 'classifiers of the other input', 'missing split',
])
def test_bad_input_stops_before_any_pass(case, tmp_path, monkeypatch, tiny_generator,
                                         tiny_canary, toxichat_classifiers, toxichat_sample_dir):
    from parlai_prosocial.report import script

    out = tmp_path / 'out'
    args, expected = {
        'missing --report-dir': (['-mf', tiny_generator], '--report-dir is missing'),
        'negative --examples': (['-mf', tiny_generator, '--examples', -1, '--report-dir', out],
                                '--examples -1: expected a number of examples >= 0'),
        'unbalanced quote in --guard-args': (
            ['-mf', tiny_generator, '--guard-model-file', tiny_canary, '--guard-args',
             '--guard-help-text "call', '--report-dir', out],
            '--guard-args \'--guard-help-text "call\' cannot be split'),
        'unknown -m': (['-m', 'nosuchagent', '--report-dir', out],
                       '-m nosuchagent: no such agent'),
        'a generator as the stance classifier': (
            ['-mf', tiny_generator, '--toxichat-stance-model-file', tiny_generator,
             '--report-dir', out],
            f'--toxichat-stance-model-file {tiny_generator}: a -m transformer/generator model, '
            'not a classifier'),
        'classifier as the model': (['-mf', toxichat_classifiers['stance'], '--report-dir', out],
                                    'is a classifier: it cannot generate replies'),
        'not a Canary': (['-mf', tiny_generator, '--guard-model-file', tiny_generator,
                          '--report-dir', out], 'not a Canary'),
        'classifiers of the other input': (
            ['-mf', tiny_generator, '--toxichat-stance-model-file', toxichat_classifiers['stance'],
             '--toxichat-classifier-input', 'thread', '--report-dir', out],
            'trained with --toxichat-classifier-input pair'),
        'missing split': (['-mf', tiny_generator, '--prosocial-data-dir', tmp_path,
                           '--report-dir', out], 'test.json: no such file'),
    }[case]
    monkeypatch.setattr(script.Pass, 'start', _no_work)
    with pytest.raises(ProsocialError) as error:
        run_report(args + ['--toxichat-data-dir', toxichat_sample_dir])
    assert expected in str(error.value) and '\n' not in str(error.value)
    assert not out.exists()


def _command(args, cwd):
    return subprocess.run([sys.executable, '-m', 'parlai_prosocial.report'] + args, cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_the_command_line_one_line_and_help(tmp_path):
    # the exit statuses and what a user sees: the subject is the command line
    done = _command(['-m', 'nosuchagent', '--report-dir', 'out'], tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        done.stderr.strip()] and done.stderr.startswith('ReportError: -m nosuchagent: no such')
    done = _command(['-m', 'repeat_query'], tmp_path)
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert 'usage' not in done.stderr and '--report-dir is missing' in done.stderr
    done = _command(['--help'], tmp_path)
    assert done.returncode == 0 and '--report-dir' in done.stdout
    assert 'Parse Error' not in done.stdout + done.stderr
    assert not os.listdir(tmp_path)
