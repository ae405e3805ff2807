"""
Canary's norm pre-training (ProsocialDialog paper §4.1, App. B.1; Table 2's three Canary rows),
offline: the two-stage presets are what the recipe says, and each variant runs end to end on a
tiny T5 with the ``parlai`` command (in this process): stage 1 (``-o
prosocial/canary_pretrain_<corpus>``) on the corpus' upstream-schema sample, then stage 2 (``-o
prosocial/canary_<corpus> --init-model STAGE1``) on the Canary mixture (ProsocialDialog sample and
the offline casual fixtures), whose model is checked to start from stage 1's weights. Stage 2
refuses to start without its stage 1.
"""

import json
import os

import pytest

from parlai_prosocial.samples import write_casual, write_sample

CORPORA = {
    # corpus -> its data-dir option
    'social_chem': '--social-chem-data-dir',
    'mic': '--mic-data-dir',
    'norm_bank': '--norm-bank-data-dir',
}

#: the sizes that make the paper's presets tiny (the recipes' own options stay as they are)
TINY = ['--batchsize', '4', '--eval-batchsize', '4', '--learningrate', '0.01']


def _preset(name):
    from parlai.core.opt import Opt

    return dict(Opt.load_init(f'prosocial/{name}'))


# --- the presets --------------------------------------------------------------------------------


# (the T5 row's own preset, canary_t5_baseline: test_canary.py)


@pytest.mark.parametrize('corpus', sorted(CORPORA))
def test_two_stage_presets(corpus):
    stage1 = _preset(f'canary_pretrain_{corpus}')
    stage2 = _preset(f'canary_{corpus}')
    baseline = _preset('canary_t5_baseline')
    # stage 1: T5-large on the norm corpus alone, Canary's optimisation (the paper gives none)
    assert stage1['task'] == corpus and 'multitask_weights' not in stage1
    assert stage1['t5_model_arch'] == 't5-large' and stage1['model'] == 'canary'
    for key in ('optimizer', 'learningrate', 'batchsize', 'validation_metric',
                'validation_patience'):
        assert stage1[key] == baseline[key], key
    # stage 2: exactly the baseline's recipe, started from stage 1
    assert stage2 == dict(baseline, canary_pretrained_on=corpus)


def test_canary_is_the_papers_best_variant_delphi():
    assert _preset('canary') == _preset('canary_norm_bank')


# --- stage 1 then stage 2, tiny -----------------------------------------------------------------


@pytest.fixture(scope='module')
def casual_datapath(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('casual'))
    write_casual(path)
    return path


@pytest.fixture(scope='module')
def corpus_dirs(tmp_path_factory):
    return {corpus: write_sample(corpus, tmp_path_factory.mktemp(corpus)) for corpus in CORPORA}


@pytest.fixture(scope='module')
def stage1(tmp_path_factory, tiny_t5, corpus_dirs):
    """
    corpus -> the stage-1 model file, trained with ``-o prosocial/canary_pretrain_<corpus>``.
    """
    from parlai_prosocial import testing

    def build(directory):
        models = {}
        for corpus, option in CORPORA.items():
            model_file = os.path.join(directory, corpus, 'model')
            os.makedirs(os.path.dirname(model_file))
            testing.parlai_in_process(
                ['train_model', '-o', f'prosocial/canary_pretrain_{corpus}',
                 '--t5-model-arch', tiny_t5, option, corpus_dirs[corpus],
                 '-mf', model_file, '--num-epochs', '3'] + TINY,
                cwd=os.path.dirname(model_file),
            )
            models[corpus] = model_file
        return models

    return testing.built_once(tmp_path_factory, 'canary_stage1', build)


def _state(model_file):
    import torch

    return torch.load(model_file, map_location='cpu')['model']


def _stage2_args(corpus, tiny_t5, datapath, model_file, init_model=None):
    args = ['train_model', '-o', f'prosocial/canary_{corpus}', '--t5-model-arch', tiny_t5,
            '--datapath', datapath, '-mf', model_file, '--num-epochs', '1'] + TINY
    if init_model:
        args += ['--init-model', init_model]
    return args


@pytest.mark.parametrize('corpus', sorted(CORPORA))
def test_stage_two_starts_from_stage_one(corpus, stage1, tiny_t5, casual_datapath,
                                         sample_data_dir, tmp_path):
    """
    The stage-2 agent holds stage 1's weights before training (not the plain T5's), and the
    stage-2 training run itself completes from them and records where it started.
    """
    import torch
    from parlai.core.agents import create_agent
    from parlai.scripts.train_model import setup_args
    from transformers import T5ForConditionalGeneration

    from parlai_prosocial import testing

    stage1_state = _state(stage1[corpus])
    plain = T5ForConditionalGeneration.from_pretrained(tiny_t5).state_dict()
    changed = [k for k, v in plain.items() if 't5.' + k in stage1_state
               and not torch.equal(v, stage1_state['t5.' + k])]
    assert changed, 'stage 1 did not train'

    opt = setup_args().parse_args(
        _stage2_args(corpus, tiny_t5, casual_datapath, str(tmp_path / 'unused' / 'model'),
                     stage1[corpus])[1:]
    )
    agent = create_agent(opt)
    start = agent.model.state_dict()
    assert start.keys() == stage1_state.keys()
    for key, value in stage1_state.items():
        assert torch.equal(start[key], value), key

    model_file = str(tmp_path / 'model')
    testing.parlai_in_process(
        _stage2_args(corpus, tiny_t5, casual_datapath, model_file, stage1[corpus]),
        cwd=str(tmp_path),
        env_extra=dict(PROSOCIAL_DATA_DIR=sample_data_dir),
    )
    with open(model_file + '.opt') as f:
        saved = json.load(f)
    assert saved['init_model'] == stage1[corpus]
    assert saved['canary_pretrained_on'] == corpus
    assert saved['task'].startswith('prosocial:safety,casual_safety:')
    stage2_state = _state(model_file)
    assert any(not torch.equal(stage2_state[k], stage1_state[k]) for k in stage1_state), (
        'stage 2 did not train'
    )


def test_stage_two_refuses_to_start_without_its_stage_one(stage1, tiny_t5, casual_datapath,
                                                         sample_data_dir, tmp_path):
    from parlai_prosocial import testing
    from parlai_prosocial.agents.canary.agents import CanaryStageError

    env = dict(PROSOCIAL_DATA_DIR=sample_data_dir)
    cases = {
        'without --init-model': None,
        'no such model file': str(tmp_path / 'missing' / 'model'),
        'trained on \'mic\', not on \'norm_bank\'': stage1['mic'],
    }
    for expected, init_model in cases.items():
        with pytest.raises(CanaryStageError) as error:
            testing.parlai_in_process(
                _stage2_args('norm_bank', tiny_t5, casual_datapath, str(tmp_path / 'model'),
                             init_model),
                cwd=str(tmp_path), env_extra=env,
            )
        assert expected in str(error.value)
        assert 'prosocial/canary_pretrain_norm_bank' in str(error.value)
        assert not os.path.exists(str(tmp_path / 'model'))
