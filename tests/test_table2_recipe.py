"""
``projects/prosocial_dialog/table2/reproduce.py`` end to end at the smallest scale (one epoch per
training): every Table 2 row that runs in ParlAI is trained and evaluated with the recipe's
``parlai`` commands (run in this process: their command line is not the subject here), the table
is written from the run's own reports, each Canary's stage 2 started from its stage 1, and the BAD
classifier's fine-tuning from its stand-in with a new output layer.
"""

import json
import os

from parlai_prosocial import testing


def test_table2_recipe_runs_every_row(repo_dir, tmp_path, monkeypatch):
    script = os.path.join(repo_dir, 'projects', 'prosocial_dialog', 'table2', 'reproduce.py')
    out = str(tmp_path / 'out')
    monkeypatch.chdir(tmp_path)
    testing.run_script_in_process(
        monkeypatch, script,
        ['--out', out, '--epochs', '1', '--pretrain-epochs', '1', '--gpt2-epochs', '1',
         '--bad-epochs', '1', '--no-fit'],
    )
    with open(os.path.join(out, 'results.json')) as f:
        written = json.load(f)
    assert written['format'] == 'parlai-prosocial-results/1' and written['seeds'] == [0]
    rows = {row[0]: row[1:] for row in written['tables']['table2']['rows']}
    assert list(rows) == ['T5', 'Canary (Social Chemistry)', 'Canary (MIC)', 'Canary (Delphi)',
                          'GPT-2', 'DialoGPT', 'BAD classifier']
    for row, (acc_train, acc_valid, acc_test, bleu, f1, ppl) in rows.items():
        assert acc_train is None  # --no-fit
        if row == 'DialoGPT':  # RoT generation only, as in the paper
            assert (acc_valid, acc_test) == (None, None)
        else:
            assert all(0 <= a <= 100 for a in (acc_valid, acc_test)), row
        if row == 'BAD classifier':  # classification only, as in the paper
            assert (bleu, f1, ppl) == (None, None, None)
        else:
            assert 0 <= bleu <= 100 and 0 <= f1 <= 100 and ppl >= 1, row
    # the numbers are the run's own reports
    numbers = written['numbers']
    assert rows['T5'][2] == 100 * numbers['T5']['test']['safety_acc']
    assert rows['GPT-2'][1] == 100 * numbers['GPT-2']['valid']['accuracy']
    # each variant's stage 2 started from its stage 1, the T5 row from the plain T5
    for corpus in ('social_chem', 'mic', 'norm_bank'):
        with open(os.path.join(out, corpus, 'model.opt')) as f:
            opt = json.load(f)
        assert opt['init_model'] == os.path.join(out, f'{corpus}_stage1', 'model')
        assert opt['canary_pretrained_on'] == corpus
    with open(os.path.join(out, 't5', 'model.opt')) as f:
        assert json.load(f).get('init_model') is None
    commands = written['commands']
    assert sum('train_model -o prosocial/canary_pretrain_' in c for c in commands) == 3
    for preset in ('table2_gpt2 ', 'table2_gpt2_rots', 'table2_dialogpt_rots'):
        assert any(f'-o prosocial/{preset}' in c for c in commands), preset
    assert rows['DialoGPT'][4] == 100 * numbers['DialoGPT']['rots_test']['f1']
    # the BAD classifier: the preset's command from the stand-in, which kept all but the output
    # layer, evaluated on our five labels; the stand-in itself on the labels mapped to its classes
    assert any('train_model -o prosocial/table2_bad_classifier -mf OUT/bad_classifier/model '
               '--init-model OUT/bad_standin/model' in c for c in commands)
    with open(os.path.join(out, 'bad_classifier', 'model.opt')) as f:
        opt = json.load(f)
    assert (opt['model'], opt['init_model']) == ('bad_classifier',
                                                 os.path.join(out, 'bad_standin', 'model'))
    with open(os.path.join(out, 'train_bad_classifier.log')) as f:
        log = f.read()
    assert "its output layer additional_linear_layer [2, 32] (classes ['__notok__', '__ok__'])" \
        " is not loaded; ours [5, 32]" in log
    assert rows['BAD classifier'][2] == 100 * numbers['BAD classifier']['test']['accuracy']
    assert 'class___needs_intervention___f1' in numbers['BAD classifier']['test']
    zero_shot = written['tables']['bad_zero_shot']['rows']
    assert zero_shot[0][2] == 100 * written['bad_zero_shot']['test']['accuracy']
    assert 'class___notok___f1' in written['bad_zero_shot']['test']
