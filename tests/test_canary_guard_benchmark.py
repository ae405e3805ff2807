"""
A scaled-down run of ``benchmarks/canary_guard/run.py --size paper`` (the real benchmark builds
the 2.7B transformer and T5-large; here both are tiny): the models are built offline from their
configurations, every generation has the fixed length asked for, and the results file has the
latency, token and memory tables. The script runs in this process.
"""

import os

from parlai_prosocial import results, testing


def test_scaled_down_paper_size_benchmark(tmp_path, repo_dir, monkeypatch):
    out = tmp_path / 'the bench'  # a space in the path, as a TMPDIR may have
    script = os.path.join(repo_dir, 'benchmarks', 'canary_guard', 'run.py')
    args = [
        '--size', 'paper', '--out', str(out), '--repeats', '2', '--threads', '1',
        '--generator-args',
        '--n-layers 1 --n-heads 2 --embedding-size 16 --ffn-size 32 --n-positions 64 --truncate 64',
        '--dict-size', '100', '--t5-config', 'tiny', '--reply-tokens', '5', '--canary-tokens', '3',
        '--device', 'cpu',
    ]
    testing.run_script_in_process(monkeypatch, script, args)
    data = results.load(str(out / 'results.json'))
    assert set(data['tables']) == {'latency', 'tokens', 'inside', 'memory', 'setup'}
    with open(out / 'dict_100') as f:
        assert len(f.readlines()) == 100
    for name in ('batchsize_1', 'batchsize_8'):
        setting = data['numbers']['settings'][name]
        assert setting['generated_tokens_per_turn'] == {
            'bare': 5.0, 'guarded_generator': 5.0, 'canary': 3.0
        }
        assert len(setting['ms_per_turn']['bare']) == len(setting['ms_per_turn']['guarded']) == 2
        assert setting['ratio_of_medians'] > 0 and setting['ratio_of_minimums'] > 0
    assert data['numbers']['settings']['batchsize_8']['turns'] == 8
    memory = data['numbers']['memory']
    assert memory['generator_parameters'] > 0 and memory['canary_parameters'] > 0
    assert memory['peak_rss_gb'] > 0
    assert data['seeds'] == [0]
    assert 'canary_guard' in data['commands'][-1]
    for t in data['tables'].values():
        results.render_table(t)
