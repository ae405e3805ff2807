"""
What a new user meets in the first hour (issue 18 §1): every error on a path that starts from our
tasks, presets, agents, zoo entries or model files is one line (a ``ProsocialError``, which the
``parlai`` command shows as ``<ErrorClass>: <message>`` with exit status 1 and no traceback:
``test_errors_bad_input.py``, and through the real command in ``test_cli_bad_input.py``), also
where ParlAI's own code is what fails on the way. Each class runs through the command's own
dispatch in this process (``parlai_in_process``); the models are tiny and untrained, saved once
for the module. Paths with no name of ours keep ParlAI's errors.
"""

import json
import os

import pytest

from parlai_prosocial.agents import EMPTY_INPUT_REPLY
from parlai_prosocial.testing import (
    one_line_error,
    parlai_in_process,
    parlai_one_line_error,
    run_script_in_process,
)
from parlai_prosocial.testing.models import copy_model_file, save_untrained


@pytest.fixture(scope='module')
def models(tmp_path_factory, untrained_canary):
    """
    Untrained model files: name -> path (``canary``: the session's). ``prost_cut_opt`` has its
    ``.opt`` cut in half, ``prost_cut_early`` after 100 characters, ``prost_no_dict`` lost its
    ``.dict``.
    """
    root = tmp_path_factory.mktemp('models')
    tiny = dict(n_layers=1, embedding_size=8, ffn_size=8, n_heads=1)
    made = {
        'generator': save_untrained(root / 'generator', model='transformer/generator', **tiny),
        'prost': save_untrained(root / 'prost', model='prost', **tiny),
        'canary': untrained_canary,
    }
    for broken in ('prost_cut_opt', 'prost_cut_early', 'prost_no_dict'):
        made[broken] = copy_model_file(made['prost'], root / broken)
    with open(made['prost_cut_opt'] + '.opt') as f:
        text = f.read()
    for name, end in (('prost_cut_opt', len(text) // 2), ('prost_cut_early', 100)):
        with open(made[name] + '.opt', 'w') as f:
            f.write(text[:end])  # (the early cut ends before "model": "prost")
    os.remove(made['prost_no_dict'] + '.dict')
    return made


#: case id -> (parlai arguments, the one line's parts[, environment]); in them, {name} is a model
#: file of the fixture, {tmp} the test's folder, {file} a file, {tiny_t5} the tiny T5
CASES = {
    'unknown teacher prosocial': (
        'display_data -t prosocial:nope',
        ['ProsocialOptionError: -t prosocial:nope: task prosocial has no such teacher; '
         'expected one of prosocial, prosocial:cosmo,', 'prosocial:safety'],
    ),
    'unknown teacher soda': (
        'display_data -t soda:nope',
        ['-t soda:nope: task soda has no such teacher; expected one of soda, soda:dialogue'],
    ),
    'unknown teacher toxichat': (
        'display_data -t toxichat:no_such',
        ['task toxichat has no such teacher', 'toxichat:offensive, toxichat:stance'],
    ),
    'casual_safety of no ParlAI task': (
        'display_data -t casual_safety:nope',
        ['ProsocialOptionError: -t casual_safety:nope: no ParlAI task nope to take casual '
         'contexts from'],
    ),
    'unknown preset': (
        'display_data -o prosocial/nope',
        ['UnknownPresetError: -o prosocial/nope: no such preset (nor file); expected one of '
         'prosocial/canary,', 'prosocial/tiny_prost'],
    ),
    'training preset given to display_data': (
        'display_data -o prosocial/tiny_prost',
        ['ProsocialOptionError: -o prosocial/tiny_prost: this command has no option --',
         'it is a preset for parlai train_model'],
    ),
    'data dir is a file': (
        'display_data -t prosocial --prosocial-data-dir {file}',
        ['ProsocialOptionError: --prosocial-data-dir {file} (from the command line or '
         '$PROSOCIAL_DATA_DIR) is a file: expected the directory holding the data files'],
    ),
    'data dir variable is a file': (
        'display_data -t toxichat',
        ['ProsocialOptionError: --toxichat-data-dir {file} (from the command line or '
         '$TOXICHAT_DATA_DIR) is a file'],
        {'TOXICHAT_DATA_DIR': '{file}'},
    ),
    'multitask weight nan (train_model)': (
        'train_model -t prosocial,prosocial:safety --multitask-weights nan,1 -m repeat_label '
        '-mf {tmp}/model',
        ['ProsocialOptionError: --multitask-weights nan,1: nan is not a finite number'],
    ),
    'multitask weight inf': (
        'display_data -t prosocial,prosocial:safety --multitask-weights 1,inf',
        ['--multitask-weights 1,inf: inf is not a finite number'],
    ),
    'model file missing': (
        'eval_model -m prost -mf {tmp}/none/model -t prosocial',
        ['ModelFileError: --model-file {tmp}/none/model: no such model file'],
    ),
    'model file .opt cut': (
        'eval_model -mf {prost_cut_opt} -t prosocial',
        ['ModelFileError: {prost_cut_opt}.opt: not valid JSON (', 'is it cut short?'],
    ),
    'model file .dict missing': (
        'eval_model -mf {prost_no_dict} -t prosocial',
        ['ModelFileError: --model-file {prost_no_dict}: its dictionary {prost_no_dict}.dict is '
         'missing'],
    ),
    'model file .opt cut before the model name': (
        'eval_model -m prost -mf {prost_cut_early} -t prosocial',
        ['ModelFileError: {prost_cut_early}.opt: not valid JSON (', 'is it cut short?'],
    ),
    'model file of another agent': (
        'eval_model -m canary -mf {generator} -t prosocial:safety',
        ['ModelFileError: --model-file {generator}: a model file of -m transformer/generator '
         '(its .opt), which CanaryAgent cannot load'],
    ),
    'init model of another agent': (
        'train_model -m prost --init-model {canary} -mf {tmp}/new/model -t prosocial',
        ['--init-model {canary}: a model file of -m canary (its .opt), which ProstAgent cannot '
         'load'],
    ),
    'guard: canary model file of another agent': (
        'eval_model -m canary_guard --canary-model-file {prost} --guarded-model-file {prost} '
        '-t prosocial',
        ['ModelFileError: --canary-model-file {prost}: a model file of -m prost'],
    ),
    'guard: guarded model file missing': (
        'eval_model -m canary_guard --canary-model-file {canary} --guarded-model-file '
        '{tmp}/none/model -t prosocial',
        ['ModelFileError: --guarded-model-file {tmp}/none/model: no such model file'],
    ),
    'zoo:prost not installed': (
        'eval_model -mf zoo:prost/model -t prosocial',
        ['ProstCheckpointNotFound: zoo:prost/model: no Prost checkpoint installed'],
    ),
    'canary offline with the hub architecture': (
        'train_model -m canary -t prosocial:safety -mf {tmp}/model',
        ['ModelFileError: --t5-model-arch t5-large: cannot load the tokenizer (',
         'give that local directory to --t5-model-arch'],
    ),
    'the canary preset offline': (
        'train_model -o prosocial/canary -t prosocial:safety --multitask-weights 1 -mf {tmp}/model',
        ['ModelFileError: --t5-model-arch t5-large: cannot load the tokenizer ('],
    ),
    'the cosmo preset offline': (
        'train_model -o prosocial/cosmo -t prosocial:cosmo --multitask-weights 1 -mf {tmp}/model',
        ['ModelFileError: --t5-model-arch google/t5-xl-lm-adapt: cannot load the tokenizer ('],
    ),
    'the table2 GPT-2 preset offline': (
        'train_model -o prosocial/table2_gpt2 -mf {tmp}/model',
        ['ModelFileError: -m hugging_face/gpt2 (--model-name unset: the hub model of --gpt2-size '
         'small): cannot load it from Hugging Face (', 'give that directory to --model-name'],
    ),
    'stage 2 without stage 1': (
        'train_model -o prosocial/canary_mic -t prosocial:safety --multitask-weights 1 '
        '--t5-model-arch {tiny_t5} -mf {tmp}/model',
        ['CanaryStageError: --canary-pretrained-on mic without --init-model: stage 2 of Canary '
         '(mic) starts from the stage-1 model'],
    ),
    'stage 2 from the wrong model': (
        'train_model -o prosocial/canary_mic -t prosocial:safety --multitask-weights 1 '
        '--t5-model-arch {tiny_t5} -mf {tmp}/model --init-model {canary}',
        ['CanaryStageError: --init-model {canary} was trained on', "not on 'mic'"],
    ),
    'multiprocessing_train without GPUs': (
        'multiprocessing_train -o prosocial/tiny_prost -t prosocial --multitask-weights 1 '
        '-mf {tmp}/model',
        ['ProsocialOptionError: multiprocessing_train without GPUs: give the number of CPU '
         'workers with --distributed-world-size N'],
    ),
}


@pytest.mark.parametrize('case', sorted(CASES))
def test_one_line(case, models, tiny_t5, tmp_path, sample_data_dir):
    args, parts, *env = CASES[case]
    names = dict(models, tmp=str(tmp_path), file=str(tmp_path / 'a_file'), tiny_t5=tiny_t5)
    (tmp_path / 'a_file').write_text('not a directory')
    env = dict({'PROSOCIAL_DATA_DIR': sample_data_dir},
               **{k: v.format(**names) for k, v in (env[0] if env else {}).items()})
    line = parlai_one_line_error(
        [a.format(**names) for a in args.split()] + ['--datapath', str(tmp_path / 'data')],
        tmp_path, env,
    )
    for part in parts:
        assert part.format(**names) in line, line


def test_the_base_model_of_a_gpu_recipe_offline(tmp_path, sample_data_dir, monkeypatch):
    # `-o prosocial/prost` starts from zoo:blender/reddit_3B: ParlAI's download, offline
    import parlai.core.build_data as build_data

    def offline(url, path, fname, **kwargs):
        raise RuntimeError('Connection broken too many times. Stopped retrying.')

    monkeypatch.setattr(build_data, 'download', offline)
    datapath = tmp_path / 'data'
    line = parlai_one_line_error(
        ['train_model', '-o', 'prosocial/prost', '-t', 'prosocial:rot_response',
         '--multitask-weights', '1', '-mf', str(tmp_path / 'model'), '--datapath', datapath],
        tmp_path, {'PROSOCIAL_DATA_DIR': sample_data_dir},
    )
    assert line.startswith('ProsocialDownloadError: --init-model zoo:blender/reddit_3B/model: '
                           'this base model is not downloaded, and downloading it failed')
    assert f'(ParlAI puts it in {datapath}/models/blender/reddit_3B)' in line, line
    # without a name of ours, ParlAI's own error stays
    with pytest.raises(RuntimeError, match='^Connection broken'):
        parlai_in_process(
            ['train_model', '-m', 'transformer/generator', '-t', 'integration_tests',
             '--init-model', 'zoo:blender/reddit_3B/model', '--dict-file',
             'zoo:blender/reddit_3B/model.dict', '-mf', tmp_path / 'theirs', '--datapath',
             datapath],
            cwd=str(tmp_path),
        )


def test_parlais_own_paths_stay_parlais(tmp_path, models):
    with pytest.raises(AttributeError):  # a teacher of ParlAI's own task
        parlai_in_process(['display_data', '-t', 'integration_tests:nope',
                           '--datapath', tmp_path])
    with pytest.raises(RuntimeError, match='Model file does not exist'):
        parlai_in_process(['eval_model', '-m', 'repeat_label', '-mf', tmp_path / 'none',
                           '-t', 'integration_tests', '--datapath', tmp_path])
    generator = copy_model_file(models['generator'], tmp_path / 'generator')
    with open(generator + '.opt', 'r+') as f:
        f.truncate(len(f.read()) // 2)
    with pytest.raises(json.JSONDecodeError):
        parlai_in_process(['eval_model', '-mf', generator,
                           '-t', 'integration_tests', '--datapath', tmp_path])
    with pytest.raises(OSError, match="^Can't load tokenizer for 'gpt2'"):  # HF offline
        parlai_in_process(['train_model', '-m', 'hugging_face/gpt2', '-t', 'integration_tests',
                           '-mf', tmp_path / 'gpt2', '--datapath', tmp_path])


@pytest.mark.parametrize('agent', ['prost', 'canary', 'canary_guard', 'cosmo',
                                   'transformer/generator'])
def test_an_empty_line_in_interactive(agent, models, tiny_t5, tiny_generator, tmp_path):
    """
    Two empty lines, then a real one: each gets a reply, an empty one ours, and the chat goes on.
    ``transformer/generator`` is ParlAI's own agent on a model file of ours (the session's, of
    ``-o prosocial/tiny_generator``), where ParlAI failed on an empty line (a ParlAI-only model
    file keeps that failure: test_parlai_paths_errors.py).
    """
    args = {
        'prost': ['-mf', models['prost']],
        'canary': ['-mf', models['canary']],
        'canary_guard': ['-m', 'canary_guard', '--canary-model-file', models['canary'],
                         '--guarded-model-file', models['prost']],
        'cosmo': ['-m', 'cosmo', '--t5-model-arch', tiny_t5],
        'transformer/generator': ['-mf', tiny_generator],
    }[agent]
    run = parlai_in_process(['interactive'] + args + ['--datapath', tmp_path / 'data'],
                            cwd=str(tmp_path), stdin='\n   \nhello\n')
    # three turns answered, then the prompt that reads the end of the input: what a tiny model
    # replies to "hello" (it was not fit to it; it may be empty) is not the test's business
    assert run.output.count('Enter Your Message:') == 4, run.output[-2000:]
    if agent != 'cosmo':  # COSMO answers an empty turn, as the released model does
        assert run.output.count(']: ' + EMPTY_INPUT_REPLY) == 2, run.output[-2000:]


@pytest.mark.parametrize('zoo_entry, line', [
    ('canary', 'CanaryCheckpointNotFound: {none}: not a Canary checkpoint: expected the released '
               'canary.tar.gz, a directory with a ParlAI model file "model" and "model.opt", or '
               'a model file with its .opt beside it'),
    ('prost', 'ProstCheckpointNotFound: {none} is not a complete ParlAI checkpoint: missing '
              '{none}, {none}.opt, {none}.dict'),
])
def test_installing_a_missing_checkpoint(zoo_entry, line, tmp_path):
    # python -m parlai_prosocial.zoo.ENTRY.install PATH: its ProsocialError is the one line
    import importlib

    install = importlib.import_module(f'parlai_prosocial.zoo.{zoo_entry}.install')
    none = str(tmp_path / 'none')
    said = one_line_error(install.main, [none, '--datapath', str(tmp_path)])
    assert said.startswith(line.format(none=none)), said


def test_the_steering_recipe_offline_without_its_language_model(models, tmp_path, repo_dir,
                                                                sample_data_dir, monkeypatch):
    # the GPU run of the recipe names a hub GPT-2 (the paper's GPT-3 is an API); offline
    path = os.path.join(repo_dir, 'projects', 'prosocial_dialog', 'steering', 'reproduce.py')
    line = one_line_error(run_script_in_process, monkeypatch, path, [
        '--out', tmp_path / 'out', '--datapath', tmp_path / 'data', '--canary-model-file',
        models['canary'], '--model-name', 'gpt2-xl', '--prosocial-data-dir', sample_data_dir,
    ])
    assert line.startswith('ModelFileError: --model-name gpt2-xl: cannot load this GPT-2 (')
    assert line.endswith('and give that directory to --model-name')
