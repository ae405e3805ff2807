"""
A scaled-down run of ``benchmarks/train_throughput/run.py`` (issue 11 §5): one task, the tiny
size, a few steps. The plain ParlAI Dialog Format file holds our teacher's episodes (the script
stops if ``fromfile:parlaiformat`` reads back anything else), both runs train, and the results file
has its tables. The script runs in this process (its measurements in their own, as always).
"""

import os

from parlai_prosocial import results, testing


def test_scaled_down_train_throughput_benchmark(tmp_path, repo_dir, monkeypatch):
    out = tmp_path / 'bench'
    script = os.path.join(repo_dir, 'benchmarks', 'train_throughput', 'run.py')
    args = [
        '--out', str(out), '--rows', '60', '--steps', '2', '--log-steps', '2', '--repeats', '1',
        '--batchsize', '4', '--tasks', 'rot_response', '--sizes', 'tiny',
    ]
    testing.run_script_in_process(monkeypatch, script, args)
    data = results.load(str(out / 'results.json'))
    assert set(data['tables']) == {'throughput', 'throughput_cpu', 'targets', 'setup'}
    assert data['numbers']['data']['rot_response'] == {'examples': 60, 'episodes': 30}
    with open(out / 'plain_rot_response.txt') as f:
        lines = f.read().splitlines()
    assert len(lines) == 60 and all(line.startswith('text:') for line in lines)
    assert sum('episode_done:True' in line for line in lines) == 30
    for kind in ('ours', 'plain'):
        (measured,) = data['numbers']['runs']['rot_response']['tiny'][kind]
        assert measured['steps'] == 5  # 2 warm-up + 2 timed, stopped at the next step
        assert measured['timed_exs'] == 8 and measured['exs_per_second'] > 0
        assert measured['exs_per_cpu_second'] > 0
    assert data['numbers']['ratios_of_medians']['rot_response/tiny']['same_batches']
    assert data['seeds'] == [0]
    assert any('fromfile:parlaiformat' in c for c in data['commands'])
    for t in data['tables'].values():
        results.render_table(t)


def test_models_for_the_safety_task_alone(tmp_path, repo_dir):
    """
    ``--tasks safety`` builds the T5s and no transformer dictionary (it once looked up the
    rot_response dump unconditionally and stopped with a KeyError).
    """
    import importlib.util

    path = os.path.join(repo_dir, 'benchmarks', 'train_throughput', 'run.py')
    spec = importlib.util.spec_from_file_location('train_throughput_run', path)
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    dict_file, t5, dict_command = run.build_models(
        str(tmp_path), {'safety': str(tmp_path / 'plain_safety.txt')}, ['tiny'], dict(os.environ)
    )
    assert (dict_file, dict_command) == (None, None)
    assert set(t5) == {'tiny'} and os.path.isfile(os.path.join(t5['tiny'], 'config.json'))
