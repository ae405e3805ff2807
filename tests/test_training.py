"""
A tiny ``transformer/generator`` trains on ``prosocial:rot_response`` with ParlAI's default LR
scheduler (reduceonplateau, which crashed on torch 2.x before our fix) and is evaluated with the
paper's response metrics, through the ``parlai`` commands (run in this process).
"""

import json
import os

from parlai_prosocial.testing import parlai_in_process


def test_train_then_eval_rot_response(tmp_path, sample_data_dir):
    model_file = str(tmp_path / 'model')
    env = {'PROSOCIAL_DATA_DIR': sample_data_dir}
    trained = parlai_in_process(
        [
            'train_model',
            '-o', 'prosocial/tiny_generator',
            '-t', 'prosocial:rot_response',
            '-mf', model_file,
            '--num-epochs', '3',
            '--validation-every-n-epochs', '1',
        ],
        cwd=str(tmp_path),
        env_extra=env,
    )
    assert os.path.isfile(model_file) and os.path.isfile(model_file + '.dict')
    model_opt = json.load(open(model_file + '.opt'))
    assert model_opt['lr_scheduler'] == 'reduceonplateau'
    assert 'total_train_updates' in trained.output

    report = str(tmp_path / 'report.json')
    parlai_in_process(
        [
            'eval_model',
            '-mf', model_file,
            '-t', 'prosocial:rot_response',
            '--datatype', 'test',
            '--metrics', 'bleu-4,f1,ppl',
            '--report-filename', report,
        ],
        cwd=str(tmp_path),
        env_extra=env,
    )
    metrics = json.load(open(report))['report']
    assert metrics['exs'] == 1  # the sample's test split has one turn
    for name in ('bleu-4', 'f1', 'ppl'):
        assert name in metrics, name
    assert metrics['ppl'] > 1
