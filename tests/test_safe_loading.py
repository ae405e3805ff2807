"""
Model files load without running code in them, and everything ParlAI itself writes still loads
(``parlai_fixes.safe_loading``: ``safe_checkpoint_loading`` / ``safe_opt_loading``, ``parlai_prosocial.model_files``):

* a pickled payload in a model file, wherever a model file comes from (``-mf``, its ``.opt``,
  ``--init-model``, a ``.checkpoint`` being resumed, a zoo folder forged with a ``.built`` marker,
  the guard's two model files, a ToxiChat classifier, ``parlai vacuum``), never runs: one line
  naming the file.
  (``--dict-file`` and the BPE files are text or JSON, never unpickled: not a place.)
* only the user's environment variable makes a file trusted;
* the types allowed beyond weights are exactly those ParlAI's checkpoints need, and only while we
  load;
* a tiny model trained with each of ParlAI's LR schedulers and each optimizer it offers reloads
  and resumes.
(Unreadable model files: test_model_files_bad_input.py.)
"""

import json
import os
import pickle

import pytest
import torch

from parlai.core.agents import create_agent, create_agent_from_model_file
from parlai.core.build_data import mark_done
from parlai.core.params import ParlaiParser
from parlai.core.torch_agent import TorchAgent
from parlai.scripts.train_model import TrainModel

from parlai_prosocial import model_files, parlai_fixes
from parlai_prosocial.errors import ModelFileError
from parlai_prosocial.testing import parlai_in_process
from parlai_prosocial.testing.models import copy_model_file, save_untrained

#: a tiny transformer/generator on ParlAI's own test task (no download)
TINY = dict(
    task='integration_tests:nocandidate',
    model='transformer/generator',
    n_layers=1,
    n_heads=1,
    embedding_size=8,
    ffn_size=8,
)
TINY_ARGS = [
    '-t', TINY['task'], '-m', TINY['model'], '--n-layers', '1', '--n-heads', '1',
    '--embedding-size', '8', '--ffn-size', '8',
]


class Payload:
    """
    Unpickling this creates the directory ``marker``: code that runs when the file is loaded.
    """

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


@pytest.fixture(scope='module')
def tiny_model(tmp_path_factory):
    """
    A tiny ``transformer/generator`` saved as ParlAI saves it (untrained): its model file.
    """
    return save_untrained(tmp_path_factory.mktemp('tiny_model'),
                          **{k: v for k, v in TINY.items() if k != 'task'})


def copy_model(model_file, target_dir, name='model', marker=None):
    """
    The model's files (``model``, ``model.opt``, ``model.dict``, ...) copied into ``target_dir``
    as ``name`` (``testing.models.copy_model_file``); with ``marker``, its checkpoint holds a
    payload creating that directory.
    """
    target = copy_model_file(model_file, target_dir, name)
    if marker is not None:
        states = torch.load(target, weights_only=True)
        states['extra'] = Payload(str(marker))
        torch.save(states, target)
    return target


def assert_refused(info, path, marker):
    message = str(info.value)
    assert path in message and 'refused to load' in message, message
    assert 'PARLAI_PROSOCIAL_TRUSTED_MODEL_FILES=' in message and '\n' not in message
    assert not os.path.exists(marker)


def test_the_fixes_are_applied_and_fail_closed():
    from parlai.core.opt import Opt
    from parlai.scripts.vacuum import Vacuum

    assert getattr(TorchAgent.load, 'parlai_prosocial_safe', False)
    assert Opt.load.__func__.__module__ != 'parlai.core.opt'
    assert Vacuum.run.__module__ == 'parlai_prosocial.parlai_fixes.safe_loading'
    for name in ('safe_checkpoint_loading', 'safe_opt_loading', 'safe_vacuum_loading'):
        assert parlai_fixes.fix_named(name).fail_closed, name


# --- a payload wherever a model file comes from ------------------------------------------------


def _eval(model_file, tmp_path, *args):
    parlai_in_process(
        ['eval_model', '-mf', model_file, '-t', TINY['task'], '--num-examples', '1',
         '--datapath', tmp_path / 'data'] + list(args),
        cwd=tmp_path,
    )


def _train(tmp_path, *args):
    parlai_in_process(
        ['train_model'] + TINY_ARGS + ['--max-train-steps', '1', '--datapath', tmp_path / 'data']
        + list(args),
        cwd=tmp_path,
    )


def _forged_zoo_folder(tiny, tmp_path, marker, zoo_name, version):
    """
    ``{datapath}/models/ZOO_NAME/`` laid out as its installer leaves it, with the ``.built``
    marker (and version) it writes: anyone who can write the folder can write all of it.
    """
    dpath = tmp_path / 'data' / 'models' / zoo_name
    model_file = copy_model(tiny, dpath, marker=marker)
    mark_done(str(dpath), version)
    return model_file


def place_mf(tiny, tmp_path, marker):
    model_file = copy_model(tiny, tmp_path / 'm', marker=marker)
    return model_file, lambda: _eval(model_file, tmp_path)


def place_opt_file(tiny, tmp_path, marker):
    # ParlAI's Opt.load unpickles a .opt that is not UTF-8 text (its oldest format)
    model_file = copy_model(tiny, tmp_path / 'm')
    with open(model_file + '.opt', 'wb') as f:
        pickle.dump({'model': TINY['model'], 'extra': Payload(str(marker))}, f)
    return model_file + '.opt', lambda: _eval(model_file, tmp_path)


def place_init_model(tiny, tmp_path, marker):
    init = copy_model(tiny, tmp_path / 'init', marker=marker)
    return init, lambda: _train(tmp_path, '-mf', tmp_path / 'new' / 'model', '--init-model', init)


def place_checkpoint(tiny, tmp_path, marker):
    # train_model resumes from MODEL.checkpoint when it exists (--load-from-checkpoint, default)
    model_file = copy_model(tiny, tmp_path / 'm')
    copy_model(tiny, tmp_path / 'm', name='model.checkpoint', marker=marker)
    os.remove(model_file)
    return model_file + '.checkpoint', lambda: _train(tmp_path, '-mf', model_file)


def place_zoo_prost(tiny, tmp_path, marker):
    from parlai.zoo.prost import model as prost_zoo

    model_file = _forged_zoo_folder(tiny, tmp_path, marker, 'prost', prost_zoo.VERSION)
    return model_file, lambda: _eval('zoo:prost/model', tmp_path)


def place_zoo_canary(tiny, tmp_path, marker):
    from parlai.zoo.canary import build as canary_zoo
    from parlai_prosocial.agents.canary import load_canary

    model_file = _forged_zoo_folder(tiny, tmp_path, marker, 'canary', canary_zoo.VERSION)
    return model_file, lambda: load_canary('zoo:canary/model', datapath=str(tmp_path / 'data'))


def _guard(*args):
    create_agent(ParlaiParser(True, True).parse_args(['-m', 'canary_guard'] + list(args)))


def place_guarded_model_file(tiny, tmp_path, marker):
    tiny_model, tiny_canary = tiny
    model_file = copy_model(tiny_model, tmp_path / 'g', marker=marker)
    return model_file, lambda: _guard(
        '--canary-model-file', tiny_canary, '--guarded-model-file', model_file
    )


def place_canary_model_file(tiny, tmp_path, marker):
    model_file = copy_model(tiny, tmp_path / 'c', marker=marker)
    return model_file, lambda: _guard(
        '--canary-model-file', model_file, '--guarded-model', 'repeat_query'
    )


def place_vacuum(tiny, tmp_path, marker):
    model_file = copy_model(tiny, tmp_path / 'v', marker=marker)
    return model_file, lambda: parlai_in_process(['vacuum', '-mf', model_file], cwd=tmp_path)


def place_toxichat_classifier(tiny, tmp_path, marker):
    from parlai.tasks.toxichat.metrics import Classifier

    model_file = copy_model(tiny, tmp_path / 'stance', marker=marker)
    return model_file, lambda: Classifier(
        model_file, ['Agree', 'Disagree', 'Neutral'], '--toxichat-stance-model-file'
    )


#: where a model file comes from -> (the tiny model(s) the place needs: fixture names, the place)
PLACES = {
    '-mf': ('tiny_model', place_mf),
    '-mf, its pickled .opt': ('tiny_model', place_opt_file),
    '--init-model': ('tiny_model', place_init_model),
    'resuming MODEL.checkpoint': ('tiny_model', place_checkpoint),
    'zoo:prost/model, forged .built': ('tiny_model', place_zoo_prost),
    'zoo:canary/model, forged .built': ('tiny_canary', place_zoo_canary),
    'canary_guard --guarded-model-file': (('tiny_model', 'tiny_canary'), place_guarded_model_file),
    'canary_guard --canary-model-file': ('tiny_canary', place_canary_model_file),
    'toxichat classifier': ('tiny_model', place_toxichat_classifier),
    'parlai vacuum -mf': ('tiny_model', place_vacuum),
}


@pytest.mark.parametrize('tiny, place', PLACES.values(), ids=PLACES.keys())
def test_a_payload_never_runs(tiny, place, request, tmp_path, monkeypatch):
    monkeypatch.delenv(model_files.TRUSTED_ENV, raising=False)
    marker = str(tmp_path / 'payload_ran')
    if isinstance(tiny, tuple):
        tiny = tuple(request.getfixturevalue(name) for name in tiny)
    else:
        tiny = request.getfixturevalue(tiny)
    path, load = place(tiny, tmp_path, marker)
    with pytest.raises(ModelFileError) as info:
        load()
    assert_refused(info, path, marker)


# --- trust: the user's say-so only -------------------------------------------------------------


def test_only_the_environment_variable_trusts_a_file(tiny_model, tmp_path, monkeypatch):
    marker = tmp_path / 'payload_ran'
    model_file = copy_model(tiny_model, tmp_path / 'm', marker=marker)
    monkeypatch.setenv(model_files.TRUSTED_ENV, os.pathsep.join(['/elsewhere', model_file]))
    create_agent_from_model_file(model_file)
    assert marker.exists()  # the user asked for it: loaded as ParlAI loads it


def test_a_trusted_directory(tiny_model, tmp_path, monkeypatch):
    model_file = copy_model(tiny_model, tmp_path / 'm', marker=tmp_path / 'ran')
    with open(model_file + '.opt', 'rb') as f:
        options = f.read()
    with open(model_file + '.opt', 'wb') as f:  # a pickled .opt of the same options
        pickle.dump(json.loads(options), f)
    monkeypatch.setenv(model_files.TRUSTED_ENV, str(tmp_path / 'm'))
    create_agent_from_model_file(model_file)
    assert (tmp_path / 'ran').exists()


def test_a_pickled_opt_of_plain_options_still_loads(tiny_model, tmp_path, monkeypatch):
    monkeypatch.delenv(model_files.TRUSTED_ENV, raising=False)
    model_file = copy_model(tiny_model, tmp_path / 'm')
    with open(model_file + '.opt') as f:
        options = json.load(f)
    with open(model_file + '.opt', 'wb') as f:
        pickle.dump(options, f)
    agent = create_agent_from_model_file(model_file)
    assert type(agent).__name__ == 'TransformerGeneratorAgent'


# --- exactly the types ParlAI's checkpoints need, only while we load ---------------------------


def test_numpy_float64_loads_and_nothing_else_of_numpy(tmp_path):
    import numpy as np

    path = tmp_path / 'states'
    torch.save({'lr': np.float64(0.5), 'lrs': [np.float64(1.0)]}, path)
    states = model_files.load_checkpoint(str(path), lambda p: pytest.fail('never unsafe'))
    assert states == {'lr': 0.5, 'lrs': [1.0]}
    # allowed only while we loaded (torch adds globals of its own on some imports: not compared)
    allowed = torch.serialization.get_safe_globals()
    assert not [t for t in model_files.checkpoint_types() if t in allowed]
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    for value, name in [
        (np.float32(1.0), 'numpy.dtype[float32]'),
        (np.int64(1), 'numpy.dtype[int64]'),
        (np.zeros(2), 'numpy.core.multiarray._reconstruct'),
    ]:
        torch.save({'x': value}, path)
        with pytest.raises(ModelFileError) as info:
            model_files.load_checkpoint(str(path), lambda p: pytest.fail('never unsafe'))
        assert str(info.value) == model_files.refusal_message(str(path), f'the pickled {name}')


def test_fp16_optimizer_states_are_plain(tmp_path):
    # fp16 training needs a GPU; what its optimizer wrappers save can be checked on CPU
    from parlai.utils.fp16 import (
        MemoryEfficientFP16Adam,
        MemoryEfficientFP16Optimizer,
        SafeFP16Optimizer,
    )

    weights = torch.nn.Parameter(torch.zeros(3, dtype=torch.half))
    for optimizer in [
        SafeFP16Optimizer(torch.optim.Adam([weights]), aggregate_gnorms=False),
        MemoryEfficientFP16Optimizer(MemoryEfficientFP16Adam([weights]), aggregate_gnorms=False),
    ]:
        torch.save({'optimizer': optimizer.state_dict()}, tmp_path / 'states')
        states = model_files.load_checkpoint(str(tmp_path / 'states'), None)
        assert isinstance(states['optimizer']['loss_scaler'], float)


# --- every LR scheduler and optimizer ParlAI offers: trained, reloaded, resumed -----------------

SCHEDULERS = ['reduceonplateau', 'none', 'fixed', 'invsqrt', 'cosine', 'linear']
#: optimizers of TorchAgent.optim_opts() that cannot train a ParlAI model at all, plugin or not
UNTRAINABLE = {
    'optimizer': "torch's base class",
    'lbfgs': 'its step() needs a closure, which ParlAI does not pass',
    'sparseadam': 'needs sparse gradients',
    'muon': '2-D parameters only',
}
OPTIMIZERS = sorted(set(TorchAgent.optim_opts()) - set(UNTRAINABLE))


def test_the_lists_are_parlais():
    parser = TrainModel.setup_args()
    parser.add_model_subargs('transformer/generator', {})
    choices = next(a.choices for a in parser._actions if '--lr-scheduler' in a.option_strings)
    assert sorted(choices) == sorted(SCHEDULERS)
    assert set(UNTRAINABLE) <= set(TorchAgent.optim_opts())
    assert {'adam', 'sgd', 'mem_eff_adam', 'adafactor'} <= set(OPTIMIZERS)


# invsqrt with every optimizer (it leaves numpy floats in the optimizer's state), adam with every
# other scheduler
COMBINATIONS = [(o, 'invsqrt') for o in OPTIMIZERS] + [
    ('adam', s) for s in SCHEDULERS if s != 'invsqrt'
]


@pytest.mark.parametrize(
    'optimizer, scheduler', COMBINATIONS, ids=[f'{o}-{s}' for o, s in COMBINATIONS]
)
def test_trained_model_reloads_and_resumes(optimizer, scheduler, tmp_path):
    model_file = str(tmp_path / 'model')
    args = dict(
        TINY, model_file=model_file, optimizer=optimizer, lr_scheduler=scheduler,
        learningrate=0.01, warmup_updates=0, batchsize=2, skip_generation=True,
        validation_metric='loss', validation_max_exs=1,
        short_final_eval=True, datapath=str(tmp_path / 'data'), log_every_n_steps=100,
    )
    # no validation while training: saved at the end, then reloaded by ParlAI's TrainLoop for
    # the final evaluation

    def updates():
        return model_files.load_checkpoint(model_file, None)['number_training_updates']

    TrainModel.main(max_train_steps=2, **args)
    assert updates() == 2
    TrainModel.main(max_train_steps=4, **args)  # resumes from the same -mf
    # ParlAI counts the updates through its scheduler: without one, a resumed count restarts
    assert updates() == (2 if scheduler == 'none' else 4)
    agent = create_agent_from_model_file(model_file, {'datatype': 'valid'})
    assert agent.opt['optimizer'] == optimizer
    if (optimizer, scheduler) == ('adam', 'invsqrt'):  # and ParlAI's vacuum reads it too
        parlai_in_process(['vacuum', '-mf', model_file, '--no-backup'], cwd=tmp_path)
        assert 'optimizer' not in model_files.load_checkpoint(model_file, None)
