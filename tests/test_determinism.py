"""
Same command twice -> the same model, optimizer state and metrics (issue 11 §1).

ParlAI 1.7.2's ``train_model`` seeded only after building the agent (so the initial weights were
unseeded) and never seeded numpy; the fix ``seed_before_building_the_agent`` fixes both.
The runs use the ``parlai`` command (the first in a new process, the other two in this one, after
whatever state the suite left behind) on a tiny generator with dropout, on a 2-task mixture
sampled by weight (ParlAI's ``MultiWorld`` draws the task with ``random.choices``), so model
init, data order, mixture sampling and dropout all have to be seeded for the tensors to match.
Bit-identical results are promised on the same machine with the same torch thread count (the
root conftest sets one thread); see the projects README for across machines.
"""

import json
import os
import random

import numpy as np
import pytest
import torch

#: report entries that measure time, not the model
TIMING = {'exps', 'ltps', 'ctps', 'tps', 'ups', 'train_time'}

MIXTURE = [
    '-t', 'prosocial:rot_response,prosocial:safety',
    '--multitask-weights', '2,1',
    '--dropout', '0.2',
    '--num-epochs', '3',
    '--validation-every-n-epochs', '1',
    # no decoding in the evaluations: greedy decoding is a function of the weights, which are
    # compared bit for bit; decoding to the full label length with the barely trained model was
    # four fifths of each run's time
    '--skip-generation', 'true',
]


def train(run, directory, data_dir, *extra):
    os.makedirs(directory, exist_ok=True)
    model_file = os.path.join(directory, 'model')
    run(
        ['train_model', '-o', 'prosocial/tiny_generator', '-mf', model_file, *MIXTURE, *extra],
        cwd=directory,
        env_extra={'PROSOCIAL_DATA_DIR': data_dir},
    )
    return model_file


def trained(model_file):
    states = torch.load(model_file, map_location='cpu')
    with open(model_file + '.trainstats') as f:
        stats = json.load(f)
    return states, stats


def without_timing(value):
    if isinstance(value, dict):
        return {k: without_timing(v) for k, v in value.items() if k not in TIMING}
    if isinstance(value, list):
        return [without_timing(v) for v in value]
    return value


def tensors(value, prefix=''):
    """
    Every tensor inside a (nested) state dict, by its path.
    """
    if torch.is_tensor(value):
        return {prefix: value}
    found = {}
    if isinstance(value, dict):
        for k, v in value.items():
            found.update(tensors(v, f'{prefix}/{k}'))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            found.update(tensors(v, f'{prefix}/{i}'))
    return found


def assert_same_tensors(a, b):
    ta, tb = tensors(a), tensors(b)
    assert ta.keys() == tb.keys()
    different = [k for k in ta if not torch.equal(ta[k], tb[k])]
    assert not different, f'tensors differ: {different[:5]}'


@pytest.fixture(scope='module')
def three_runs(tmp_path_factory, sample_data_dir):
    from parlai_prosocial.testing import built_once, parlai_in_process, run_parlai

    def build(root):
        # across processes (another hash seed) and in one process after other runs
        first = train(run_parlai, os.path.join(root, 'a'), sample_data_dir)
        second = train(parlai_in_process, os.path.join(root, 'b'), sample_data_dir)
        other_seed = train(parlai_in_process, os.path.join(root, 'c'), sample_data_dir,
                           '--seed', '1')
        return first, second, other_seed

    # once per test run: pytest-xdist may give this module's tests to both workers
    return [trained(model_file) for model_file in
            built_once(tmp_path_factory, 'determinism_runs', build)]


def test_preset_seeds_the_run(repo_dir):
    with open(os.path.join(repo_dir, 'opt_presets', 'prosocial', 'tiny_generator.opt')) as f:
        assert json.load(f)['seed'] == 0


def test_same_command_twice_gives_identical_model_and_optimizer(three_runs):
    (a, _), (b, _), _ = three_runs
    assert a['optimizer'] and a['model']
    assert_same_tensors(a['model'], b['model'])
    assert_same_tensors(a['optimizer'], b['optimizer'])


def test_same_command_twice_gives_identical_metrics(three_runs):
    (_, a), (_, b), _ = three_runs
    assert a['train_steps'] == b['train_steps'] > 0
    assert len(a['valid_reports']) >= 2
    assert without_timing(a['train_reports']) == without_timing(b['train_reports'])
    assert without_timing(a['valid_reports']) == without_timing(b['valid_reports'])
    assert without_timing(a['final_valid_report']) == without_timing(b['final_valid_report'])
    assert 'ppl' in a['final_valid_report']


def test_another_seed_gives_another_model(three_runs):
    # the seed is what decides: otherwise the equality above could come from a constant init
    (a, _), _, (c, _) = three_runs
    ta, tc = tensors(a['model']), tensors(c['model'])
    assert any(not torch.equal(ta[k], tc[k]) for k in ta)


def test_initial_weights_follow_the_seed(tmp_path, sample_data_dir):
    """
    In-process: the agent a ``TrainLoop`` builds gets the same initial weights for the same seed;
    ParlAI seeded only after building it.
    """
    from parlai.scripts.train_model import TrainLoop, setup_args

    def initial_weights(seed, directory):
        opt = setup_args().parse_args(
            ['-o', 'prosocial/tiny_generator', '-t', 'prosocial:rot_response',
             '-mf', str(tmp_path / directory / 'model'), '--seed', str(seed),
             '--prosocial-data-dir', sample_data_dir]
        )
        os.makedirs(tmp_path / directory)
        random.seed(None)
        torch.manual_seed(random.randrange(2**31))  # what an earlier caller left behind
        loop = TrainLoop(opt)
        weights = {k: v.clone() for k, v in loop.agent.model.state_dict().items()}
        loop.world.shutdown()
        return weights

    first, second = initial_weights(5, 'a'), initial_weights(5, 'b')
    assert_same_tensors(first, second)
    third = initial_weights(6, 'c')
    assert any(not torch.equal(first[k], third[k]) for k in first)


def test_set_seed_seeds_numpy_too():
    from parlai.scripts.train_model import set_seed

    set_seed(7)
    drawn = (random.random(), np.random.rand(), torch.rand(1).item())
    set_seed(7)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == drawn


@pytest.mark.parametrize('task, seeded', [('prosocial', True), ('integration_tests:nocandidate',
                                                                  False)])
def test_eval_model_seeds_torch_in_our_runs(task, seeded, sample_data_dir, monkeypatch):
    # whatever state torch was in, an evaluation of ours starts from the same seed (sampled
    # decoding); ParlAI's own (seed_evaluation acts on our runs only) seeds Python's random alone
    import parlai.scripts.eval_model as eval_module

    monkeypatch.setenv('PROSOCIAL_DATA_DIR', sample_data_dir)
    opt = eval_module.setup_args().parse_args(
        ['-t', task, '-m', 'fixed_response', '--fixed-response', 'hi', '-dt', 'valid',
         '--num-examples', '1']
    )
    seen, states = [], random.Random()  # (eval_model seeds the global random: not from it)
    for _ in range(2):
        torch.manual_seed(states.randrange(2**31))
        np.random.seed(states.randrange(2**31))
        eval_module.eval_model(opt)
        seen.append((torch.rand(1).item(), np.random.rand()))
    assert (seen[0] == seen[1]) is seeded
