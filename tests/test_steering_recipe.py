"""
``projects/prosocial_dialog/steering/reproduce.py`` (§6.2's own setting, App. D.2) at tiny scale:
Canary's sampled RoTs on the test dialogues it predicts not casual, the language model prompted
with P_0 and P_r, the pairs written for human judgement; the same seed gives the same pairs.
"""

import importlib.util
import json
import os
import shutil

from parlai_prosocial import testing
from parlai_prosocial.agents.canary_guard import lm_prompt


def _script(repo_dir):
    path = os.path.join(repo_dir, 'projects', 'prosocial_dialog', 'steering', 'reproduce.py')
    spec = importlib.util.spec_from_file_location('steering_reproduce', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_steering_recipe_writes_the_pairs(repo_dir, tmp_path, sample_data_dir, tiny_canary,
                                         monkeypatch):
    monkeypatch.setenv('PROSOCIAL_DATA_DIR', sample_data_dir)
    script = _script(repo_dir)
    testing.commands_in_process(monkeypatch, script)  # its commands, in this process
    # the recipe's tiny Canary is the session's: the same command on the same (seeded) tiny T5,
    # asserted below; put where the recipe keeps its own, it is reused as the recipe reuses its
    # own on a second run, instead of training the same model a second time
    shutil.copytree(os.path.dirname(tiny_canary), tmp_path / 'a' / 'canary')
    args = ['--out', str(tmp_path / 'a'), '--datapath', str(tmp_path / 'data'),
            '--canary-epochs', '150', '--n', '600', '--split', 'train']
    written = script.main(args)
    assert written['commands'][0] == (
        'parlai train_model -o prosocial/tiny_canary -t prosocial:safety --multitask-weights 1 '
        '--t5-model-arch OUT/tiny_t5 -mf OUT/canary/model --num-epochs 150'
    )
    with open(tiny_canary + '.opt') as f:
        trained = json.load(f)
    assert ({k: trained[k] for k in ('init_opt', 'task', 'multitask_weights', 'num_epochs')}
            == {'init_opt': 'prosocial/tiny_canary', 'task': 'prosocial:safety',
                'multitask_weights': [1], 'num_epochs': 150})
    # that tiny Canary is fitted to the sample's training split (the session's fixture checked
    # it with its own message): its openings are labelled there, which what follows relies on
    openings = script.test_openings(sample_data_dir, 'train')
    numbers = written['numbers']
    assert numbers['test_dialogues'] == len(openings) > 0
    with open(str(tmp_path / 'a' / 'pairs.jsonl')) as f:
        pairs = [json.loads(line) for line in f]
    assert len(pairs) == numbers['sampled'] == min(600, numbers['non_casual']) > 0
    for pair in pairs:
        assert pair['safety_label'].startswith('__') and pair['safety_label'] != '__casual__'
        assert pair['prompt_plain'] == lm_prompt([pair['context']])
        assert pair['prompt_rots'] == lm_prompt([pair['context']], pair['rots'] or None)
        if pair['rots']:
            assert 'Speaker 2 is trying to gently explain' in pair['prompt_rots']
        assert '\n' not in pair['reply_plain'] and '\n' not in pair['reply_rots']
    assert written['tables']['steering']['rows'][0][2] == len(pairs)
    # the same seed, the same pairs (the trained tiny Canary is reused)
    again = script.main(args)
    with open(str(tmp_path / 'a' / 'pairs.jsonl')) as f:
        assert [json.loads(line) for line in f] == pairs
    assert again['numbers'] == numbers
