"""
``python -m parlai_prosocial.report`` (issue 20) on the bundled samples with the shared tiny models:
its numbers are the eval_model commands' it records, its charts are PNGs report.md links, and bad
input stops it before any work with one line.
"""

import os
import shlex
import shutil

import pytest

from parlai_prosocial import testing
from parlai_prosocial.errors import ProsocialError

TIMED = ('exps', 'ctps', 'ltps', 'tps', 'gen_tps')


@pytest.fixture(scope='module')
def prosocial_dir(tmp_path_factory, sample_data_dir):
    # the sample's test split is one turn; its training dialogues (all five safety levels) serve
    # as the test split here, so every level has a row
    directory = tmp_path_factory.mktemp('report_prosocial')
    for split in ('train', 'valid'):
        shutil.copy(os.path.join(sample_data_dir, f'{split}.json'), directory)
    shutil.copy(os.path.join(sample_data_dir, 'train.json'), directory / 'test.json')
    return str(directory)


def run_report(args):
    from parlai.utils import logging

    from parlai_prosocial.report.script import ProsocialReport

    level = logging.logger.level
    try:
        return ProsocialReport.main(list(map(str, args)) + ['--loglevel', 'error'])
    finally:
        logging.logger.setLevel(level)


@pytest.fixture(scope='module')
def report(tmp_path_factory, tiny_generator, tiny_canary, toxichat_classifiers, prosocial_dir,
           toxichat_sample_dir):
    out = tmp_path_factory.mktemp('report') / 'out'
    written = run_report(
        ['-mf', tiny_generator, '--guard-model-file', tiny_canary, '--report-dir', out,
         '--prosocial-data-dir', prosocial_dir, '--toxichat-data-dir', toxichat_sample_dir,
         '--toxichat-stance-model-file', toxichat_classifiers['stance'],
         '--toxichat-offensive-model-file', toxichat_classifiers['offensive'],
         '-ne', 6, '-bs', 2, '--examples-per-level', 1]
    )
    return out, written


def _value(metric):
    return metric.value() if hasattr(metric, 'value') else metric


def test_every_number_is_what_eval_model_reports(report):
    out, written = report
    passes = written['commands'][1:]  # the report's own command first
    assert len(passes) == 4
    for command, (dataset, side) in zip(passes, [
        ('prosocial', 'unguarded'), ('toxichat', 'unguarded'),
        ('prosocial', 'guarded'), ('toxichat', 'guarded'),
    ]):
        assert command.startswith('parlai eval_model ')
        expected = testing.parlai_in_process(shlex.split(command)[1:] + ['--loglevel', 'error'])
        expected = {k: _value(v) for k, v in expected.value.items() if k not in TIMED}
        assert written['numbers'][dataset][side]['overall'] == expected, command
    overall = written['numbers']['prosocial']['unguarded']['overall']
    assert overall['exs'] == 6 and 'bleu-4' in overall and 'ppl' in overall
    assert written['numbers']['toxichat']['unguarded']['overall']['toxichat_neutral'] >= 0
    assert written['numbers']['timing']['prosocial']['added_seconds_per_turn'] > 0


def test_levels_sum_to_the_overall_numbers(report):
    _, written = report
    for side in ('unguarded', 'guarded'):
        numbers = written['numbers']['prosocial'][side]
        levels = numbers['by_level'].values()
        assert sum(level['exs'] for level in levels) == numbers['overall']['exs']
        averaged = ['f1', 'bleu-4'] + (['guard_steered'] if side == 'guarded' else [])
        for metric in averaged:
            total = sum(level[metric] * level['exs'] for level in levels)
            assert total / numbers['overall']['exs'] == pytest.approx(numbers['overall'][metric])
    # one example per level present, with Canary's decision from the guarded pass
    examples = written['examples']
    assert len(examples) == len(written['numbers']['prosocial']['unguarded']['by_level'])
    assert all(e['canary_label'] and e['guarded_reply'] is not None for e in examples)


def test_charts_are_pngs_report_md_links(report):
    from PIL import Image

    out, written = report
    markdown = (out / 'report.md').read_text()
    assert set(written['charts']) == {'quality', 'toxichat', 'steered'}
    for name in written['charts'].values():
        with Image.open(out / name) as image:
            assert image.format == 'PNG' and image.size[0] > 100
            image.verify()
        assert f']({name})' in markdown
    assert '| overall | 6 |' in markdown and 'needs intervention' in markdown


@pytest.mark.parametrize('case', ['classifier as the model', 'not a Canary',
                                  'classifiers of the other input', 'missing split'])
def test_bad_input_stops_before_any_work(case, tmp_path, tiny_generator, toxichat_classifiers,
                                         toxichat_sample_dir):
    args = {
        'classifier as the model': ['-mf', toxichat_classifiers['stance']],
        'not a Canary': ['-mf', tiny_generator, '--guard-model-file', tiny_generator],
        'classifiers of the other input': [
            '-mf', tiny_generator, '--toxichat-stance-model-file', toxichat_classifiers['stance'],
            '--toxichat-classifier-input', 'thread'],
        'missing split': ['-mf', tiny_generator, '--prosocial-data-dir', tmp_path],
    }[case]
    expected = {
        'classifier as the model': 'is a classifier: it cannot generate replies',
        'not a Canary': 'not a Canary',
        'classifiers of the other input': 'trained with --toxichat-classifier-input pair',
        'missing split': 'test.json: no such file',
    }[case]
    out = tmp_path / 'out'
    with pytest.raises(ProsocialError) as error:
        run_report(args + ['--report-dir', out, '--toxichat-data-dir', toxichat_sample_dir])
    assert expected in str(error.value) and '\n' not in str(error.value)
    assert not out.exists()
