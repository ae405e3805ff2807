"""
Table 2's BAD classifier row (App. C.1): ``-o prosocial/table2_bad_classifier`` fine-tunes ParlAI's
``zoo:bot_adversarial_dialogue/multi_turn/model`` on our five labels with ``-m bad_classifier``.
Offline, a tiny ``transformer/classifier`` with the BAD classes and the preset's architecture
(``parlai_prosocial.baselines.bad_classifier``) stands in for the zoo model. The preset's command
itself, trained and evaluated on the sample, runs in ``tests/test_table2_recipe.py``.
"""

import pytest
import torch

from parlai_prosocial.baselines import bad_classifier
from parlai_prosocial.errors import ProsocialOptionError
from parlai_prosocial.formats import OK_NOTOK, SAFETY_LABELS

#: ParlAI's recipe for the BAD classifier (projects/safety_recipes/README.md, "BAD classifier":
#: train_model ... --model transformer/classifier), the options a fine-tuning must repeat
SAFETY_RECIPE = dict(
    variant='xlm', n_layers=12, n_heads=12, embedding_size=768, ffn_size=3072, n_positions=1024,
    n_segments=2, activation='gelu', learn_positional_embeddings=True, learn_embeddings=True,
    embeddings_scale=False, share_word_embeddings=False, share_encoders=False,
    reduction_type='mean', output_scaling=0.06, dict_tokenizer='bpe', dict_lower=True,
    dict_endtoken='__start__', history_size=20, text_truncate=360, label_truncate=72,
)


def test_preset_is_the_zoo_classifier_with_our_labels():
    from parlai.core.opt import Opt

    preset = Opt.load_init(bad_classifier.PRESET)
    assert preset['model'] == 'bad_classifier'
    assert preset['init_model'] == 'zoo:bot_adversarial_dialogue/multi_turn/model'
    assert preset['dict_file'] == preset['init_model'] + '.dict'
    assert preset['task'] == 'prosocial:safety_classification'
    assert preset['classes'] == list(SAFETY_LABELS)
    assert {k: preset[k] for k in SAFETY_RECIPE} == SAFETY_RECIPE
    assert set(bad_classifier.ARCHITECTURE_OPTIONS) == set(SAFETY_RECIPE)
    assert preset['load_from_pretrained_ranker'] is False
    assert 'max_train_time' not in preset and preset['num_epochs'] > 0 and 'seed' in preset


def test_zero_shot_teacher_maps_every_label_to_a_bad_class(sample_data_dir):
    from parlai_prosocial import testing

    teacher = testing.create_teacher(bad_classifier.OK_NOTOK_TASK, 'train:ordered',
                                     prosocial_data_dir=sample_data_dir)
    messages = testing.one_epoch(teacher)
    assert messages
    for message in messages:
        assert message['labels'] == [OK_NOTOK[message['safety_label']]]
        assert message['label_candidates'] == list(bad_classifier.BAD_CLASSES)
    assert {m['labels'][0] for m in messages} == set(bad_classifier.BAD_CLASSES)


@pytest.fixture(scope='module')
def standin(tmp_path_factory, sample_data_dir):
    directory = tmp_path_factory.mktemp('bad_standin')
    return bad_classifier.build_tiny_bad_classifier(str(directory), sample_data_dir)


def agent_from_preset(standin, datapath, *args):
    """
    The agent ``-o prosocial/table2_bad_classifier`` builds with the stand-in as its init model.
    """
    from parlai.core.agents import create_agent
    from parlai.scripts.train_model import setup_args

    opt = setup_args().parse_args(
        ['-o', bad_classifier.PRESET, '--init-model', standin, '--dict-file', standin + '.dict',
         '--datapath', str(datapath)] + bad_classifier.tiny_size_args() + list(args)
    )
    return create_agent(opt)


def standin_weights(standin):
    with open(standin, 'rb') as f:
        return torch.load(f, map_location='cpu', weights_only=True)['model']


def test_parlais_classifier_cannot_load_the_two_class_output_layer(standin, tmp_path):
    with pytest.raises(RuntimeError, match='size mismatch for additional_linear_layer.weight'):
        agent_from_preset(standin, tmp_path, '-m', 'transformer/classifier')


def test_everything_but_the_output_layer_comes_from_the_init_model(standin, tmp_path):
    from parlai_prosocial.agents.bad_classifier.agents import BadClassifierAgent

    agent = agent_from_preset(standin, tmp_path)
    assert isinstance(agent, BadClassifierAgent) and agent.is_finetune
    loaded = agent.model.state_dict()
    init = standin_weights(standin)
    assert set(loaded) == set(init)
    for name, tensor in init.items():
        if name.startswith('additional_linear_layer.'):
            assert loaded[name].shape[0] == len(SAFETY_LABELS) != tensor.shape[0], name
        else:
            assert torch.equal(loaded[name], tensor), name
    assert agent.class_list == list(SAFETY_LABELS)


def test_the_same_classes_keep_the_output_layer(standin, tmp_path):
    agent = agent_from_preset(standin, tmp_path, '--classes', *bad_classifier.BAD_CLASSES)
    init = standin_weights(standin)
    assert torch.equal(agent.model.additional_linear_layer.weight,
                       init['additional_linear_layer.weight'])


def test_the_ranker_path_with_a_classifier_is_refused(standin, tmp_path):
    with pytest.raises(ProsocialOptionError, match='--load-from-pretrained-ranker True'):
        agent_from_preset(standin, tmp_path, '--load-from-pretrained-ranker', 'True')
