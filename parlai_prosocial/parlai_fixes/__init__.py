"""
The one registry of the plugin's changes to ParlAI 1.7.2 (docs/parlai_fixes.md lists them).

ParlAI's repository is archived, so these cannot go upstream. Each :class:`Fix` says

* ``module``: the ParlAI module whose import applies it (the start-up hook, ``plugin_hook``,
  applies it right after ParlAI imports that module; a process that never imports it pays
  nothing);
* ``replaces``: the ParlAI code it replaces or wraps (``'module:Qual.name'``) with the hash of that
  code in ParlAI 1.7.2 (:func:`parlai_prosocial.parlai_internals.source_hash`). If the installed
  code differs, the fix is skipped with one warning line naming it, or, for a ``fail_closed``
  (security) fix, the program stops;
* ``acts_on``: :data:`EVERY_RUN` for a fix of a ParlAI bug, which may act on any ParlAI run;
  :data:`OUR_RUNS` for anything else, which acts only when the run names an agent, task, preset,
  zoo entry or model file of ours (:func:`parlai_prosocial.our_names.is_our_run`): a run that names
  nothing of ours gets exactly what stock ParlAI does, the bug fixes aside;
* ``where``: the module of this package that holds the function (named as the fix), which takes
  the freshly imported ParlAI module and changes it in place.

Setting ``PARLAI_PROSOCIAL_OFF=1`` in the environment switches the whole plugin off for a process
(``plugin_hook``). Nothing here imports ParlAI or torch: the hook reads this registry in every
Python process.
"""

#: a fix of a ParlAI bug: may act on every ParlAI run in the environment
EVERY_RUN = 'every run'
#: acts only when the run names something of ours (our_names.is_our_run)
OUR_RUNS = 'our runs'


class Fix:
    __slots__ = ('name', 'module', 'where', 'acts_on', 'replaces', 'fail_closed')

    def __init__(self, name, module, where, acts_on, replaces, fail_closed=False):
        assert acts_on in (EVERY_RUN, OUR_RUNS), acts_on
        self.name, self.module, self.where = name, module, where
        self.acts_on, self.replaces, self.fail_closed = acts_on, replaces, fail_closed

    def __repr__(self):
        return f'Fix({self.name!r}, {self.module!r}, {self.acts_on!r})'

    def function(self):
        import importlib

        return getattr(importlib.import_module(f'{__name__}.{self.where}'), self.name)


_TRAIN_LOOP_INIT = {'parlai.scripts.train_model:TrainLoop.__init__': '9661bbeb94299902'}
_OPT_LOAD = {'parlai.core.opt:Opt.load': '2bd2c6e6931655ed'}
_PARSE_ARGS = {'parlai.core.params:ParlaiParser.parse_args': 'dbbb011de57c09a0'}

#: every fix, in the order each module's fixes are applied
FIXES = (
    # --- fixes of ParlAI bugs: every run ------------------------------------------------------
    Fix('reduce_on_plateau_without_verbose', 'parlai.nn.lr_scheduler', 'scheduler', EVERY_RUN,
        {'parlai.nn.lr_scheduler:ReduceOnPlateauLRScheduler.__init__': '03b86289e61ca5dd'}),
    Fix('underscores_in_option_names_only', 'parlai.core.params', 'option_names', EVERY_RUN,
        {'parlai.core.params:fix_underscores': 'dd28ee41e30b3182'}),
    Fix('safe_opt_loading', 'parlai.core.opt', 'safe_loading', EVERY_RUN, _OPT_LOAD,
        fail_closed=True),
    Fix('safe_checkpoint_loading', 'parlai.core.torch_agent', 'safe_loading', EVERY_RUN,
        {'parlai.core.torch_agent:TorchAgent.load': 'b1f28e83aababb8e'}, fail_closed=True),
    Fix('safe_vacuum_loading', 'parlai.scripts.vacuum', 'safe_loading', EVERY_RUN,
        {'parlai.scripts.vacuum:Vacuum.run': '9ae0508b61cfa317'}, fail_closed=True),
    Fix('log_level_applies_at_once', 'parlai.utils.logging', 'log_level', EVERY_RUN,
        {'parlai.utils.logging:set_log_level': '8532762423bef116'}),
    Fix('classifier_accumulates_gradients', 'parlai.core.torch_classifier_agent',
        'gradient_accumulation', EVERY_RUN,
        {'parlai.core.torch_classifier_agent:TorchClassifierAgent.train_step': '86c49c76cc6f16a3'}),
    # stock --seed does not make a run from scratch repeatable (ParlAI seeds after building the
    # agent; two stock runs differ): a bug
    Fix('seed_before_building_the_agent', 'parlai.scripts.train_model', 'seeding', EVERY_RUN,
        dict({'parlai.scripts.train_model:set_seed': '9a7a743cb4661157'}, **_TRAIN_LOOP_INIT)),
    # --- what our runs get: only when the run names something of ours --------------------------
    Fix('find_our_opt_presets', 'parlai.core.opt', 'presets', OUR_RUNS,
        {'parlai.core.opt:Opt.load_init': '9ccea692c01b06ac'}),
    Fix('options_of_our_runs', 'parlai.core.params', 'our_runs', OUR_RUNS,
        dict({'parlai.core.params:ParlaiParser.add_extra_args': 'aec02fe505b8e884'},
             **_PARSE_ARGS)),
    Fix('one_line_errors_of_our_runs', 'parlai.core.script', 'our_runs', OUR_RUNS,
        dict({'parlai.core.script:ParlaiScript._run_from_parser_and_opt': 'b7ef0ef6f467dd78'},
             **_PARSE_ARGS)),
    Fix('run_noise_of_our_runs', 'parlai.core.script', 'our_runs', OUR_RUNS,
        {'parlai.core.script:ParlaiScript._run_from_parser_and_opt': 'b7ef0ef6f467dd78'}),
    Fix('global_batch', 'parlai.scripts.train_model', 'our_runs', OUR_RUNS, _TRAIN_LOOP_INIT),
    Fix('seed_evaluation', 'parlai.scripts.eval_model', 'seeding', OUR_RUNS,
        {'parlai.scripts.eval_model:eval_model': '6b3c7de770e25a06'}),
    Fix('empty_line_in_interactive', 'parlai.core.torch_agent', 'parlai_agents', OUR_RUNS, {
        'parlai.core.torch_agent:TorchAgent.observe': 'ce3bb727215a5988',
        'parlai.core.torch_agent:TorchAgent.act': '78b8681dfa5bbf90',
    }),
    Fix('casual_corpora_before_download', 'parlai.core.worlds', 'datasets', OUR_RUNS,
        {'parlai.core.worlds:create_task': 'f4ba0db9788f3257'}),
    Fix('final_reports_to_tensorboard', 'parlai.scripts.train_model', 'output', OUR_RUNS,
        {'parlai.scripts.train_model:TrainLoop.train': '179fae0ae6302467'}),
    Fix('training_progress_at_report_level', 'parlai.scripts.train_model', 'output', OUR_RUNS,
        {'parlai.scripts.train_model:TrainLoop.log': '1bbb619e42f66911'}),
    Fix('dictionary_without_multitask_weights', 'parlai.scripts.build_dict', 'output', OUR_RUNS,
        {'parlai.scripts.build_dict:build_dict': 'bc0e8e148e0952b0'}),
    Fix('distributed_on_cpu', 'parlai.utils.distributed', 'cpu_distributed', OUR_RUNS, {
        'parlai.utils.distributed:distributed_context': 'e8e7961cc3abfdfc',
        'parlai.utils.distributed:all_gather_list': 'f23e9d55d48811ef',
    }),
    Fix('join_on_cpu', 'parlai.utils.fsdp', 'cpu_distributed', OUR_RUNS, {
        'parlai.utils.fsdp:JoinableTrainLoop.join_device': '03ff28d5ec7aa516',
        'parlai.utils.fsdp:JoinableEvaluator.join_device': '03ff28d5ec7aa516',
    }),
    Fix('build_dict_before_spawning', 'parlai.scripts.multiprocessing_train', 'cpu_distributed',
        OUR_RUNS, {'parlai.scripts.multiprocessing_train:launch_and_train': 'd8ec8a4dc6389f5e'}),
    # N workers take the step one worker takes; a distributed evaluation counts each example once
    Fix('global_batch_as_one_process', 'parlai.core.worlds', 'exact_workers', OUR_RUNS,
        {'parlai.core.worlds:create_task': 'f4ba0db9788f3257'}),
    Fix('evaluation_split_between_workers', 'parlai.core.teachers', 'exact_workers', OUR_RUNS,
        {'parlai.core.teachers:FixedDialogTeacher.next_episode_idx': '0624869bb7539f63'}),
)


def fixes_by_module():
    """
    ``{ParlAI module: [its fixes, in order]}``.
    """
    by_module = {}
    for fix in FIXES:
        by_module.setdefault(fix.module, []).append(fix)
    return by_module


def fix_named(name):
    return next(fix for fix in FIXES if fix.name == name)


class ParlAICodeChanged(RuntimeError):
    """
    A security fix cannot be applied because the ParlAI code it replaces has changed.
    """


def stale_targets(fix):
    from parlai_prosocial.parlai_internals import source_hash

    return [name for name, expected in fix.replaces.items() if source_hash(name) != expected]


def apply_fix(fix, module):
    """
    Apply ``fix`` to the just-imported ParlAI ``module`` if the code it replaces is still ParlAI
    1.7.2's; else skip it with one warning line, or stop for a fail-closed (security) fix.
    Returns whether the fix was applied.
    """
    from parlai_prosocial.parlai_internals import PARLAI_VERSION, warn_once

    stale = stale_targets(fix)
    if stale:
        message = (
            f'fix {fix.name} not applied: {", ".join(stale)} is no longer the ParlAI '
            f'{PARLAI_VERSION} code it replaces'
        )
        if fix.fail_closed:
            raise ParlAICodeChanged(f'parlai-prosocial: {message}; refusing to run without it')
        warn_once(message)
        return False
    fix.function()(module)
    return True

