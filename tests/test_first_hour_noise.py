"""
The README's first-hour commands say nothing misleading at ``--loglevel warn`` (issue 28): the
guard sets Canary's decoding without ParlAI's ``Overriding opt["inference"] to nucleus`` (it read
as if the guarded model's decoding had changed; the guard says what it does at info level), the
ToxiChat classifiers load without ``Overriding opt["datatype"] to valid``, and the warning about
missing ToxiChat classifiers names the tiny presets the README uses as well as the recipe. Other
``Overriding`` warnings (a user's own override) stay.
"""

from parlai_prosocial.testing import parlai_in_process


def test_the_guard_says_nothing_of_canarys_decoding_at_warn(tiny_canary, tmp_path,
                                                            parlai_warnings):
    run = parlai_in_process(
        ['interactive', '-m', 'canary_guard', '--canary-model-file', tiny_canary,
         '--guarded-model', 'repeat_query', '--datapath', tmp_path / 'data'],
        cwd=str(tmp_path), stdin='I just adopted a kitten!\n',
    )
    assert not [w for w in parlai_warnings if w.startswith('Overriding opt[')], parlai_warnings
    assert ('canary_guard: Canary (' + tiny_canary + ') decodes its RoTs by nucleus sampling '
            '(--guard-rots-topp 0.9, seeded by --guard-rots-seed 0) (--guard-rots); the guarded '
            'model decodes as it was saved') in run.output


def test_a_users_own_override_is_still_said(tiny_canary, tmp_path, parlai_warnings):
    parlai_in_process(
        ['interactive', '-mf', tiny_canary, '--inference', 'nucleus', '--datapath',
         tmp_path / 'data'],
        cwd=str(tmp_path), stdin='I just adopted a kitten!\n',
    )
    assert 'Overriding opt["inference"] to nucleus (previously: greedy)' in parlai_warnings


def test_toxichat_classifiers_load_quietly(toxichat_classifiers, toxichat_sample_dir, tmp_path,
                                           parlai_warnings):
    parlai_in_process(
        ['eval_model', '-m', 'repeat_query', '-t', 'toxichat', '--datatype', 'test',
         '--toxichat-data-dir', toxichat_sample_dir,
         '--toxichat-stance-model-file', toxichat_classifiers['stance'],
         '--toxichat-offensive-model-file', toxichat_classifiers['offensive'],
         '--datapath', tmp_path / 'data'],
        cwd=str(tmp_path),
    )
    assert not [w for w in parlai_warnings if 'Overriding' in w], parlai_warnings


def test_the_missing_classifiers_warning_names_the_tiny_presets(toxichat_sample_dir, tmp_path,
                                                                parlai_warnings):
    parlai_in_process(
        ['eval_model', '-m', 'repeat_query', '-t', 'toxichat', '--datatype', 'test',
         '--toxichat-data-dir', toxichat_sample_dir, '--datapath', tmp_path / 'data'],
        cwd=str(tmp_path),
    )
    warning, = [w for w in parlai_warnings if w.startswith('ToxiChat Table-5 metrics')]
    assert ('Train them: tiny ones (a demo) with parlai train_model -o '
            'prosocial/tiny_toxichat_stance -mf FILE (and tiny_toxichat_offensive), the paper\'s '
            'with projects/prosocial_dialog/toxichat/reproduce.py.') in warning


def _trained_at_report_level(tmp_path, task_options, env_extra=None):
    """
    What ``train_model`` prints at the README's ``--loglevel report``: 3 steps, logged each step.
    """
    return parlai_in_process(
        ['train_model', '-m', 'transformer/generator', '-mf', tmp_path / 'model', *task_options,
         '--n-layers', '1', '--n-heads', '1', '--embedding-size', '8', '--ffn-size', '8',
         '--batchsize', '2', '--max-train-steps', '3', '--log-every-n-steps', '1',
         '--validation-every-n-epochs', '-1', '--skip-generation', 'true',
         '--datapath', tmp_path / 'data', '--loglevel', 'report'],
        cwd=str(tmp_path), env_extra=env_extra,
    ).output


def test_a_run_of_ours_shows_its_training_progress_at_report_level(tmp_path, sample_data_dir):
    output = _trained_at_report_level(tmp_path, ['-t', 'prosocial:rot_response'],
                                      {'PROSOCIAL_DATA_DIR': sample_data_dir})
    # ParlAI stops at the last step before it logs that step
    assert [n for n in range(1, 4) if f'total_steps:{n} ' in output] == [1, 2], output
    # the progress only: the dump of every option stays at INFO, and so does ParlAI's logger
    assert '    max_train_steps: 3' not in output, output
    from parlai.utils.logging import logger

    assert 'info' not in vars(logger)


def test_a_parlai_only_run_keeps_its_progress_at_info(tmp_path):
    output = _trained_at_report_level(tmp_path, ['-t', 'integration_tests'])
    assert 'total_steps:' not in output, output
