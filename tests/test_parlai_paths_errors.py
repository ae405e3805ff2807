"""
Issue 28, part 2: bad input on paths where ParlAI's own code fails for a run of ours (a model file
our presets wrote, loaded by ParlAI's own agents; our mixtures offline without their casual
corpora; resuming with damaged training statistics; the global batch; a pickled ``.opt``): each
works or is one line (a ``ProsocialError``) through the stock command, run in this process as
ParlAI's tests do; nothing of the user's is changed. The same bad input with no name of ours keeps
ParlAI's own error.
"""

import json
import os
import pickle
import shutil

import pytest

from parlai_prosocial.testing import parlai_in_process, parlai_one_line_error
from parlai_prosocial.testing.models import REMOVED, copy_model_file, edit_options


def copied(model_file, directory, ours=True):
    """
    A copy of the model file ``model_file`` in ``directory`` (``testing.models.copy_model_file``);
    ``ours=False``: its ``.opt`` and ``.dict.opt`` name ParlAI's ``integration_tests`` instead of
    our task and preset (a ParlAI-only model).
    """
    copy = copy_model_file(model_file, directory)
    if not ours:
        for options in (copy, copy + '.dict'):
            edit_options(options, task='integration_tests', init_opt=None)
    return copy


def _write(path, data):
    with open(path, 'wb' if isinstance(data, bytes) else 'w') as f:
        f.write(data)


def _cut_dictionary_at_a_line(model_file):
    with open(model_file + '.dict') as f:
        lines = f.readlines()
    _write(model_file + '.dict', ''.join(lines[: len(lines) // 2]))


def _cut_dictionary_after_a_tab(model_file):
    with open(model_file + '.dict') as f:
        text = f.read()
    _write(model_file + '.dict', text[: text.rindex('\t') + 1])


def _embeddings_padded_as_fp16_pads_them(model_file):
    import torch

    states = torch.load(model_file, map_location='cpu', weights_only=True)
    rows = states['model']['embeddings.weight'].shape[0]
    padded = -(-rows // 8) * 8 + (8 if rows % 8 == 0 else 0)
    for name, weight in states['model'].items():
        if name.endswith('embeddings.weight') and weight.shape[0] == rows:
            extra = weight.new_zeros((padded - rows,) + tuple(weight.shape[1:]))
            states['model'][name] = torch.cat([weight, extra])
    torch.save(states, model_file)


def _another_models_weights(model_file, classifier):
    shutil.copy(classifier, model_file)


# --- 1. model files our presets wrote, loaded by ParlAI's own agents -----------------------------

#: case -> (damage(model file, classifier model file), command, the one line's parts); {mf} is the
#: damaged model file. The commands: parlai interactive (reads stdin), eval_model, display_model.
MODEL_FILE_CASES = {
    '.dict missing': (
        lambda mf, _: os.remove(mf + '.dict'), 'interactive',
        ['ModelFileError: --model-file {mf}: its dictionary {mf}.dict is missing; copy the model '
         'file with its .opt and .dict'],
    ),
    '.dict empty': (
        lambda mf, _: _write(mf + '.dict', ''), 'eval_model',
        ['ModelFileError: --model-file {mf}: its dictionary {mf}.dict is empty'],
    ),
    '.dict cut at a line': (
        lambda mf, _: _cut_dictionary_at_a_line(mf), 'display_model',
        ['ModelFileError: --model-file {mf}: its dictionary {mf}.dict makes ',
         'the .dict is cut or another model\'s'],
    ),
    '.dict cut inside a line': (
        lambda mf, _: _cut_dictionary_after_a_tab(mf), 'eval_model',
        ['ModelFileError: --model-file {mf}: its dictionary {mf}.dict line ',
         'is not token<TAB>count'],
    ),
    '.dict binary': (
        lambda mf, _: _write(mf + '.dict', bytes(range(256)) * 4), 'interactive',
        ['ModelFileError: --model-file {mf}: its dictionary {mf}.dict is not text'],
    ),
    '.opt empty': (
        lambda mf, _: _write(mf + '.opt', ''), 'interactive',
        ['ModelFileError: {mf}.opt: not valid JSON (the file is empty)'],
    ),
    '.opt {}': (
        lambda mf, _: _write(mf + '.opt', '{}'), 'interactive',
        ['ModelFileError: --model-file {mf}: its options {mf}.opt name no agent (no "model")'],
    ),
    '.opt a list': (
        lambda mf, _: _write(mf + '.opt', '[1, 2]'), 'eval_model',
        ['ModelFileError: {mf}.opt: cannot be read as an option file (a JSON list'],
    ),
    '.opt without model': (
        lambda mf, _: edit_options(mf, model=REMOVED), 'display_model',
        ['ModelFileError: --model-file {mf}: its options {mf}.opt name no agent'],
    ),
    '.opt naming an unknown agent': (
        lambda mf, _: edit_options(mf, model='nosuchagent'), 'interactive',
        ['ModelFileError: --model-file {mf}: its options {mf}.opt name the agent "nosuchagent", '
         'which neither ParlAI nor parlai-prosocial has'],
    ),
    '.opt values of the wrong types': (
        lambda mf, _: edit_options(mf, n_layers='one', variant='nope'), 'eval_model',
        ['ModelFileError: --model-file {mf}: its options {mf}.opt hold values of the wrong type: ',
         '"n_layers": \'one\' (expected a whole number)'],
    ),
    'weights of another width (ParlAI advised --fp16 true)': (
        lambda mf, _: edit_options(mf, embedding_size=64), 'interactive',
        ['ModelFileError: --model-file {mf}: its weights do not fit the model its options and '
         'dictionary describe (embeddings.weight: [', ', 32] in the file, [', ', 64] in the model '
         'built from its options)'],
    ),
    'weights trained with --fp16 true (embeddings padded to a multiple of 8)': (
        lambda mf, _: _embeddings_padded_as_fp16_pads_them(mf), 'interactive',
        ['ModelFileError: --model-file {mf}: its weights have ', ' token embeddings, its '
         'dictionary {mf}.dict makes ', 'trained with --fp16 true, which rounds them up to a '
         'multiple of 8? Then add --fp16 true'],
    ),
    'weights of another architecture': (
        _another_models_weights, 'eval_model',
        ['ModelFileError: --model-file {mf}: its weights do not fit the model', 'Missing key(s)'],
    ),
}

_COMMANDS = {
    'interactive': [],
    'eval_model': ['-t', 'prosocial', '--num-examples', '1'],
    'display_model': ['-t', 'prosocial', '--num-examples', '1'],
}


@pytest.mark.parametrize('case', sorted(MODEL_FILE_CASES))
def test_a_model_file_of_ours_under_parlais_agent(case, tiny_generator, toxichat_classifiers,
                                                  sample_data_dir, tmp_path):
    damage, command, parts = MODEL_FILE_CASES[case]
    model_file = copied(tiny_generator, tmp_path / 'model')  # -o prosocial/tiny_generator's
    damage(model_file, toxichat_classifiers['stance'])
    before = {name: os.path.getmtime(tmp_path / 'model' / name)
              for name in os.listdir(tmp_path / 'model')}
    line = parlai_one_line_error(
        [command, '-mf', model_file, '--datapath', tmp_path / 'data'] + _COMMANDS[command],
        tmp_path, {'PROSOCIAL_DATA_DIR': sample_data_dir},
    )
    for part in parts:
        assert part.format(mf=model_file) in line, line
    assert ('--fp16' in line) == case.startswith('weights trained with --fp16')  # where it fits
    # nothing of the user's was written over
    assert before == {name: os.path.getmtime(tmp_path / 'model' / name)
                      for name in os.listdir(tmp_path / 'model')}


def test_a_toxichat_classifier_without_its_dictionary(toxichat_classifiers, toxichat_sample_dir,
                                                      tmp_path):
    # -o prosocial/tiny_classifier on toxichat:stance: by ParlAI's eval_model, and by our ToxiChat
    # teacher's Table 5 metrics
    stance = copied(toxichat_classifiers['stance'], tmp_path / 'stance')
    os.remove(stance + '.dict')
    env = {'TOXICHAT_DATA_DIR': toxichat_sample_dir}
    for args, option in (
        (['eval_model', '-mf', stance, '-t', 'toxichat:stance'], '--model-file'),
        (['display_data', '-t', 'toxichat', '--toxichat-stance-model-file', stance],
         '--toxichat-stance-model-file'),
    ):
        line = parlai_one_line_error(args + ['--datapath', tmp_path / 'data'], tmp_path, env)
        assert line.startswith(f'ModelFileError: {option} {stance}: its dictionary {stance}.dict '
                               'is missing'), line


def test_the_agent_can_be_given_when_the_opt_names_none(tiny_generator, sample_data_dir,
                                                         tmp_path):
    # what the one line advises works
    model_file = copied(tiny_generator, tmp_path / 'model')
    edit_options(model_file, model=REMOVED)
    run = parlai_in_process(['interactive', '-mf', model_file, '-m', 'transformer/generator',
                             '--datapath', tmp_path / 'data'], cwd=str(tmp_path), stdin='hello\n')
    assert '[TransformerGenerator]: ' in run.output


def test_parlai_only_model_files_keep_parlais_errors(tiny_generator, tmp_path):
    # the same model file, its .opt naming ParlAI's integration_tests: ParlAI stays ParlAI
    theirs = copied(tiny_generator, tmp_path / 'theirs', ours=False)
    with pytest.raises(KeyError, match='text'):  # an empty line: ParlAI's own failure
        parlai_in_process(['interactive', '-mf', theirs, '--datapath', tmp_path / 'data'],
                          cwd=str(tmp_path), stdin='\n')
    os.remove(theirs + '.dict')
    with pytest.raises(RuntimeError, match='size mismatch(.|\n)*--fp16 true'):
        parlai_in_process(['interactive', '-mf', theirs, '--datapath', tmp_path / 'data'],
                          cwd=str(tmp_path), stdin='hello\n')
    _write(theirs + '.opt', '{}')
    with pytest.raises(KeyError, match='model'):
        parlai_in_process(['interactive', '-mf', theirs, '--datapath', tmp_path / 'data'],
                          cwd=str(tmp_path), stdin='hello\n')


# --- 5. a pickled .opt -------------------------------------------------------------------------


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


@pytest.mark.parametrize('payload', [False, True])
def test_a_pickled_opt_in_text_form_is_refused_in_one_line(payload, tiny_generator, tmp_path):
    # ParlAI unpickles only a .opt that is not UTF-8; a protocol-0 pickle is ASCII, so ParlAI
    # failed on it with a JSONDecodeError traceback (refused, rightly)
    model_file = copied(tiny_generator, tmp_path / 'model')
    with open(model_file + '.opt') as f:
        saved = json.load(f)
    if payload:
        saved['x'] = _Payload(tmp_path / 'ran')
    _write(model_file + '.opt', pickle.dumps(saved, protocol=0))
    line = parlai_one_line_error(
        ['interactive', '-mf', model_file, '--datapath', tmp_path / 'data'], tmp_path)
    holds = ', holding more than options (posix.system)' if payload else ''
    assert line.startswith(f'ModelFileError: {model_file}.opt: a pickle in text form{holds}, '
                           'which ParlAI does not read as options'), line
    assert not (tmp_path / 'ran').exists()


# --- 2. our mixtures offline without their casual corpora ---------------------------------------


def _presets_reading_casual_corpora():
    from parlai_prosocial.casual_corpora import read_by
    from parlai.core.opt import Opt

    from parlai_prosocial.presets import our_preset_names
    from parlai_prosocial.samples import CASUAL

    found = {}
    for preset in our_preset_names():
        task = Opt.load_init(preset).get('task')
        corpora = [t for t in read_by(task) if t in CASUAL]
        if corpora:
            found[preset.split('/', 1)[1]] = (task, corpora)
    return found


@pytest.fixture
def offline(monkeypatch):
    """
    No network, whatever the machine: the download server unreachable, ParlAI's download failing
    (as it does offline, after its retries).
    """
    import parlai.core.build_data as build_data

    import parlai_prosocial.casual_corpora as casual_corpora

    def download(url, path, fname, **kwargs):
        raise RuntimeError('Connection broken too many times. Stopped retrying.')

    monkeypatch.setattr(build_data, 'download', download)
    no_network = 'parl.ai: ConnectionError: [Errno -2] Name or service not known'
    monkeypatch.setattr(casual_corpora, 'unreachable', lambda tasks: no_network)
    return monkeypatch


def test_every_mixture_preset_offline_is_one_line_and_the_stand_ins_are_what_it_needs(offline,
                                                                                      tmp_path):
    from parlai_prosocial.casual_corpora import check_before_download
    from parlai_prosocial.errors import ProsocialDownloadError
    from parlai_prosocial.samples import write_casual

    presets = _presets_reading_casual_corpora()
    assert {'prost', 'tiny_prost', 'canary', 'tiny_canary'} <= set(presets)
    datapath = str(tmp_path / 'data')
    for name, (task, corpora) in presets.items():
        opt = {'task': task, 'init_opt': f'prosocial/{name}', 'datapath': datapath}
        with pytest.raises(ProsocialDownloadError) as info:
            check_before_download(opt)
        assert str(info.value).startswith(
            f'-o prosocial/{name}: ParlAI\'s casual corpora {", ".join(corpora)} are not in the '
            f'datapath {datapath}'), str(info.value)
    write_casual(datapath)  # what the offline data line writes under DIR/parlai_data
    for name, (task, _) in presets.items():
        check_before_download({'task': task, 'init_opt': f'prosocial/{name}',
                               'datapath': datapath})


def test_tiny_prost_offline_without_casual_corpora(offline, sample_data_dir, tmp_path):
    from parlai_prosocial.samples import write_sample

    datapath = tmp_path / 'data'
    env = {'PROSOCIAL_DATA_DIR': sample_data_dir,
           'TOPICAL_CHAT_DATA_DIR': write_sample('topical_chat', tmp_path / 'topical_chat')}
    args = ['train_model', '-o', 'prosocial/tiny_prost', '-mf', tmp_path / 'prost' / 'model',
            '--datapath', datapath]
    for _ in range(2):  # the same line again: nothing half-done was left for a second try
        line = parlai_one_line_error(args, tmp_path, env)
        assert line.startswith(
            'ProsocialDownloadError: -o prosocial/tiny_prost: ParlAI\'s casual corpora '
            'dailydialog, convai2, wizard_of_wikipedia, empathetic_dialogues, blended_skill_talk '
            f'are not in the datapath {datapath} (ParlAI wants dailydialog, ConvAI2, '
            'wizard_of_wikipedia, empatheticdialogues, blended_skill_talk there) and cannot be '
            'downloaded (parl.ai: ConnectionError: [Errno -2] Name or service not known); run '
            'once with the network, or stand them in'), line
        assert 'python -m parlai_prosocial.offline_data DIR' in line
        assert not datapath.exists() or not any(datapath.iterdir())


def test_a_casual_corpus_left_half_downloaded(offline, tmp_path):
    # the state a stock ParlAI attempt leaves (a folder without .built), whose next try ParlAI's
    # traceback headed with "AttributeError: ... has no attribute 'create_agents'"
    half = tmp_path / 'data' / 'dailydialog'
    half.mkdir(parents=True)
    (half / 'dailydialog.tar.gz').write_bytes(b'')
    line = parlai_one_line_error(['display_data', '-t', 'casual_safety:dailydialog', '--datapath',
                           tmp_path / 'data'], tmp_path)
    assert line.startswith('ProsocialDownloadError: -t casual_safety:dailydialog: ParlAI\'s casual '
                           'corpus dailydialog is not in the datapath'), line
    assert '; dailydialog holds a download that did not finish)' in line
    assert sorted(os.listdir(half)) == ['dailydialog.tar.gz']


def test_a_casual_corpus_whose_download_fails_although_reachable(offline, tmp_path):
    import parlai_prosocial.casual_corpora as casual_corpora

    offline.setattr(casual_corpora, 'unreachable', lambda tasks: None)
    line = parlai_one_line_error(['display_data', '-t', 'casual_safety:empathetic_dialogues',
                           '--datapath', tmp_path / 'data'], tmp_path)
    assert line.startswith('ProsocialDownloadError: -t casual_safety:empathetic_dialogues: '
                           'ParlAI\'s casual corpus empathetic_dialogues is not in the '
                           'datapath'), line
    assert ('cannot be downloaded (RuntimeError: Connection broken too many times. Stopped '
            'retrying.)') in line
    # ParlAI's own task, without a name of ours: ParlAI's error
    with pytest.raises(RuntimeError, match='^Connection broken too many times'):
        parlai_in_process(['display_data', '-t', 'empathetic_dialogues', '--datapath',
                           tmp_path / 'data'], cwd=str(tmp_path))


# --- 3. resuming with training statistics that cannot be read ------------------------------------


@pytest.mark.parametrize('damage, reason', [
    (lambda text: text[: len(text) // 2], '(not valid JSON: '),
    (lambda text: pickle.dumps(json.loads(text)), '(not text: a pickle?)'),
])
def test_resuming_with_unreadable_training_statistics(damage, reason, tiny_generator,
                                                      sample_data_dir, tmp_path):
    model_file = copied(tiny_generator, tmp_path / 'model')
    with open(model_file + '.trainstats') as f:
        _write(model_file + '.trainstats', damage(f.read()))
    line = parlai_one_line_error(
        ['train_model', '-o', 'prosocial/tiny_generator', '-t', 'prosocial', '-mf', model_file,
         '--num-epochs', '1', '--datapath', tmp_path / 'data'],
        tmp_path, {'PROSOCIAL_DATA_DIR': sample_data_dir},
    )
    assert line.startswith(f'ModelFileError: {model_file}.trainstats: the training statistics of '
                           f'{model_file}, read to resume its training, cannot be read {reason}')
    assert line.endswith('delete it to resume from the saved model with the counts (epochs, '
                         'steps, validations, best score) started anew, or put a good copy back')


def test_resuming_a_parlai_only_model_keeps_parlais_error(tiny_generator, tmp_path):
    theirs = copied(tiny_generator, tmp_path / 'theirs', ours=False)
    with open(theirs + '.trainstats', 'r+') as f:
        f.truncate(len(f.read()) // 2)
    with pytest.raises(json.JSONDecodeError):
        parlai_in_process(['train_model', '-m', 'transformer/generator', '-t', 'integration_tests',
                           '-mf', theirs, '--num-epochs', '1', '--datapath', tmp_path / 'data'],
                          cwd=str(tmp_path))


# --- 4. the global batch -----------------------------------------------------------------------


@pytest.mark.parametrize('script, args', [
    ('train_model', ['--global-batchsize', '0']),
    ('train_model', ['--global-batchsize', '-4', '--update-freq', '2']),
    ('multiprocessing_train', ['--global-batchsize', '-2', '--distributed-world-size', '2']),
])
def test_a_global_batch_of_zero_or_below_is_refused(script, args, tmp_path):
    line = parlai_one_line_error([script, '-o', 'prosocial/tiny_generator', '-t', 'prosocial',
                                  '-mf', tmp_path / 'model', '--datapath', tmp_path / 'data']
                                 + args, tmp_path)
    given = args[1]
    assert line == (f'ProsocialOptionError: --global-batchsize {given}: expected the number of '
                    'examples of one training step over all workers (a positive number), or -1 '
                    'for ParlAI\'s per-worker --batchsize')
    assert not (tmp_path / 'data').exists() and not (tmp_path / 'model').exists()


@pytest.mark.parametrize('args, batchsizes, warned', [
    # the global batch given beside the preset's --batchsize 4: used
    (['--global-batchsize', '8'], [8, 4], False),
    # a --batchsize given apart from the preset's global 4: ParlAI's, said as a warning
    (['--batchsize', '2'], [2, 2], True),
    (['--global-batchsize', '-1', '--batchsize', '2'], [2, 2], False),
])
def test_the_global_batch_beside_a_presets_batchsize(args, batchsizes, warned, parlai_warnings):
    from parlai.scripts.train_model import setup_args

    from parlai_prosocial.global_batch import per_worker_batchsize

    opt = setup_args().parse_args(['-o', 'prosocial/tiny_prost'] + args)
    assert [per_worker_batchsize(opt, workers)['batchsize'] for workers in (1, 2)] == batchsizes
    notices = [w for w in parlai_warnings if 'which is therefore not used' in w]
    assert bool(notices) is warned, parlai_warnings
