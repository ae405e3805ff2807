"""
The fixes applied to ParlAI modules on import (the registry ``parlai_prosocial.parlai_fixes``), what
they replace and when they act, and that ParlAI stays ParlAI: a run that names nothing of ours
gets what stock ParlAI does (the bug fixes aside), and the plugin can be switched off.
"""

import os
import subprocess
import sys

import pytest
import torch

from parlai.core.opt import Opt
from parlai.nn.lr_scheduler import ParlAILRScheduler, ReduceOnPlateauLRScheduler

from parlai_prosocial.presets import our_opt_presets_dir


def _optimizer():
    return torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)


def test_reduce_on_plateau_builds_and_decays():
    scheduler = ReduceOnPlateauLRScheduler(
        _optimizer(), patience=0, decay=0.5, warmup_updates=0, warmup_rate=1e-4
    )
    optimizer = scheduler.scheduler.optimizer
    scheduler.valid_step({'loss': 1.0})
    scheduler.valid_step({'loss': 2.0})  # worse, patience 0: decay
    assert optimizer.param_groups[0]['lr'] == pytest.approx(0.5)


def test_default_scheduler_of_parlai_is_the_fixed_one():
    opt = Opt(
        lr_scheduler='reduceonplateau',
        lr_scheduler_patience=3,
        lr_scheduler_decay=0.5,
        warmup_updates=-1,
        warmup_rate=1e-4,
        invsqrt_lr_decay_gamma=-1,
        max_lr_steps=-1,
    )
    scheduler = ParlAILRScheduler.lr_scheduler_factory(opt, _optimizer(), states={})
    assert isinstance(scheduler, ReduceOnPlateauLRScheduler)


def test_unfixed_parlai_still_crashes_so_the_fix_is_needed():
    # without our finder, ParlAI's own module passes verbose=True, which torch 2.x rejects
    code = (
        "import sys\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != 'PluginFinder']\n"
        "import torch\n"
        "from parlai.nn.lr_scheduler import ReduceOnPlateauLRScheduler\n"
        "opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])\n"
        "ReduceOnPlateauLRScheduler(opt, 1, 0.5, 0, 1e-4)\n"
    )
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode != 0
    assert "unexpected keyword argument 'verbose'" in result.stderr


def test_our_presets_are_found_by_name():
    opt = Opt.load_init('prosocial/tiny_generator')
    assert opt['model'] == 'transformer/generator'


def test_a_users_preset_of_the_same_name_wins_and_unknown_names_still_fail(
    tmp_path, monkeypatch
):
    # ParlAI's PyPI wheel ships no .opt presets, so the user's folder is the one to shadow ours
    users = tmp_path / '.parlai' / 'opt_presets' / 'prosocial'
    users.mkdir(parents=True)
    (users / 'tiny_generator.opt').write_text('{"model": "users_own"}')
    monkeypatch.setenv('HOME', str(tmp_path))
    assert Opt.load_init('prosocial/tiny_generator')['model'] == 'users_own'
    with pytest.raises(FileNotFoundError):
        Opt.load_init('prosocial/no_such_preset')


def test_every_preset_we_ship_is_valid_json():
    import glob
    import json
    import os

    presets = glob.glob(os.path.join(our_opt_presets_dir(), '**', '*.opt'), recursive=True)
    assert presets
    for path in presets:
        with open(path) as f:
            assert isinstance(json.load(f), dict), path


def _our_presets():
    import glob
    import json
    import os

    paths = glob.glob(os.path.join(our_opt_presets_dir(), 'prosocial', '*.opt'))
    return {os.path.basename(path)[: -len('.opt')]: json.load(open(path)) for path in paths}


#: presets that are part of a recipe (decoding, architecture), added to a model or another preset
PRESET_PARTS = {'prost_decoding', 'prost_decoding_greedy', 'pushshift_2.7B'}

#: the papers' batch of one training step: App. B.2 (Prost), B.1 (Canary, and the Table 2 rows
#: that take its recipe), SODA §4 (COSMO); the BAD classifier row takes ParlAI's recipe's 20
PAPER_BATCH = dict(
    {name: 32 for name in ('prost', 'prost_response_only')},
    **{name: 24 for name in ('canary', 'canary_mic', 'canary_norm_bank', 'canary_social_chem',
                             'canary_t5_baseline', 'canary_pretrain_mic',
                             'canary_pretrain_norm_bank', 'canary_pretrain_social_chem',
                             'table2_gpt2', 'table2_gpt2_rots', 'table2_dialogpt_rots')},
    cosmo=256,
    table2_bad_classifier=20,
)


def test_every_preset_ends_by_itself():
    presets = _our_presets()
    assert PRESET_PARTS <= set(presets)
    for name, preset in presets.items():
        if name in PRESET_PARTS:
            assert 'task' not in preset, name  # not a training recipe
            continue
        # validation patience alone is not a bound: on a small dataset it may never run out
        bounds = [preset.get('num_epochs', -1), preset.get('max_train_steps', -1)]
        assert any(bound > 0 for bound in bounds), f'{name}.opt: no bound by epochs or steps'


def test_every_paper_preset_states_the_papers_batch_as_a_global_one():
    presets = _our_presets()
    for name, preset in presets.items():
        if name in PRESET_PARTS or name.startswith('tiny_'):
            continue
        batch = (preset.get('batchsize'), preset.get('global_batchsize'))
        assert batch == (PAPER_BATCH[name],) * 2, name
    # the tiny Prost, which tests/test_distributed_cpu.py trains with two workers
    assert presets['tiny_prost']['global_batchsize'] == presets['tiny_prost']['batchsize']


def test_canary_stops_as_b1_says():
    # B.1: stop when the validation perplexity has not improved for 5 epochs, ~81K steps at 24
    for name, preset in _our_presets().items():
        if not name.startswith(('canary', 'table2_gpt2', 'table2_dialogpt')):
            continue
        assert preset['max_train_steps'] == 81000, name
        assert (preset['validation_metric'], preset['validation_patience']) == ('ppl', 5), name
        assert preset['validation_every_n_epochs'] == 1, name
        if preset['task'].startswith('prosocial:safety,'):
            # ProsocialDialog's validation split alone, not the mixture's
            assert preset['evaltask'] == 'prosocial:safety', name


# --- the registry: what each fix replaces, when it acts ----------------------------------------

#: the fixes of ParlAI bugs, which act on every run (docs/parlai_fixes.md says why each is a bug);
#: every other fix acts only on a run that names something of ours
BUG_FIXES = {
    'reduce_on_plateau_without_verbose', 'underscores_in_option_names_only', 'safe_opt_loading',
    'safe_checkpoint_loading', 'safe_vacuum_loading', 'seed_before_building_the_agent',
    'log_level_applies_at_once', 'classifier_accumulates_gradients',
}


def test_every_fix_is_registered_once_with_its_targets_and_when_it_acts():
    from parlai_prosocial.parlai_fixes import EVERY_RUN, FIXES, OUR_RUNS

    names = [fix.name for fix in FIXES]
    assert len(names) == len(set(names))
    for fix in FIXES:
        assert callable(fix.function()), fix
        assert fix.replaces and all(':' in name for name in fix.replaces), fix
        assert fix.acts_on == (EVERY_RUN if fix.name in BUG_FIXES else OUR_RUNS), fix
        assert fix.fail_closed == fix.name.startswith('safe_'), fix
    assert BUG_FIXES <= set(names)


def test_the_installed_parlai_is_the_code_every_fix_replaces_and_relies_on():
    from parlai_prosocial import parlai_fixes, parlai_internals
    from parlai_prosocial.parlai_overridden import OVERRIDDEN

    for fix in parlai_fixes.FIXES:
        assert parlai_fixes.stale_targets(fix) == [], fix
    for name, (expected, _, _) in parlai_internals.RELIED_ON.items():
        assert parlai_internals.source_hash(name) == expected, name
    for module, overridden in OVERRIDDEN.items():
        for name, expected in overridden.items():
            assert parlai_internals.source_hash(name) == expected, (module, name)


def test_every_parlai_method_our_classes_override_has_its_recorded_hash():
    """
    Derived from the classes: a new override of a ParlAI method (or one that went away) fails
    here until ``python -m parlai_prosocial.parlai_internals --write`` records it.
    """
    from parlai_prosocial import parlai_internals
    from parlai_prosocial.parlai_overridden import OVERRIDDEN

    found = parlai_internals.overrides_of_our_classes()
    for module in set(found) | set(OVERRIDDEN):
        assert found.get(module) == OVERRIDDEN.get(module), module
    prost, soda = found['parlai_prosocial.agents.prost.agents'], found[
        'parlai_prosocial.tasks.soda.agents']
    assert 'parlai.core.torch_generator_agent:TreeSearch._block_ngrams' in prost  # a mixin's
    assert 'parlai.core.torch_agent:TorchAgent._set_label_vec' in prost
    assert 'parlai.core.teachers:ChunkTeacher._enqueue_chunks' in soda


def test_source_hash_reads_parlais_file_not_the_patched_object():
    import hashlib
    import inspect

    from parlai.core.opt import Opt

    from parlai_prosocial import parlai_internals

    # the fix has replaced Opt.load_init in this process; the hash is still ParlAI's
    ours = inspect.getsource(Opt.load_init.__func__)
    assert 'parlai_load_init' in ours
    assert parlai_internals.source_hash('parlai.core.opt:Opt.load_init') != (
        hashlib.sha256(ours.encode()).hexdigest()[:16]
    )
    assert parlai_internals.source_hash('parlai.core.opt:Opt.no_such_method') is None


def test_source_hash_of_a_block_is_the_hash_of_the_whole_module_parse():
    """
    ``source_hash`` parses only the top-level block of a definition (reading ParlAI's 2,700-line
    ``teachers.py`` whole cost a third of a second at every teacher creation); the text it hashes
    must be the one a parse of the whole module gives, for every name we hash.
    """
    import hashlib

    from parlai_prosocial import parlai_internals as pi
    from parlai_prosocial.parlai_fixes import FIXES
    from parlai_prosocial.parlai_overridden import OVERRIDDEN

    names = [n for fix in FIXES for n in fix.replaces] + list(pi.RELIED_ON)
    names += [n for overridden in OVERRIDDEN.values() for n in overridden]
    for name in names:
        module_name, _, path = name.partition(':')
        whole = pi._definition(pi._module_text(module_name), pi._parsed_module(module_name), path)
        assert pi.source_hash(name) == hashlib.sha256(whole.encode()).hexdigest()[:16], name
    # a block cut inside a string with a line at column 0 does not parse: the whole module then
    text = 'def f():\n    return """\nfoo\n"""\n\n\ndef g():\n    pass\n'
    assert pi._top_level_block(text, 'f') == 'def f():\n    return """\n'


def _changed_fix(name, **changes):
    from parlai_prosocial import parlai_fixes

    fix = parlai_fixes.fix_named(name)
    target = next(iter(fix.replaces))
    fields = dict(name=fix.name, module=fix.module, where=fix.where, acts_on=fix.acts_on,
                  replaces={target: '0' * 16}, fail_closed=fix.fail_closed)
    return parlai_fixes.Fix(**dict(fields, **changes)), target


def test_a_changed_target_skips_the_fix_with_one_warning_line(monkeypatch, capsys):
    import types

    from parlai_prosocial import parlai_fixes, parlai_internals

    fix, target = _changed_fix('reduce_on_plateau_without_verbose')
    monkeypatch.setattr(parlai_internals, '_warned', set())
    module = types.ModuleType('parlai.nn.lr_scheduler')  # the fix would fail on it
    assert parlai_fixes.apply_fix(fix, module) is False
    assert parlai_fixes.apply_fix(fix, module) is False
    assert capsys.readouterr().err.splitlines() == [
        f'parlai-prosocial: warning: fix reduce_on_plateau_without_verbose not applied: {target} '
        'is no longer the ParlAI 1.7.2 code it replaces'
    ]


def test_a_security_fix_fails_closed():
    import types

    from parlai_prosocial import parlai_fixes

    fix, _ = _changed_fix('safe_opt_loading')
    with pytest.raises(parlai_fixes.ParlAICodeChanged, match='refusing to run without it'):
        parlai_fixes.apply_fix(fix, types.ModuleType('parlai.core.opt'))


def test_changed_parlai_code_that_we_override_or_rely_on_warns_once(monkeypatch, capsys):
    import sys

    from parlai_prosocial import parlai_internals, parlai_overridden

    relied_on = 'parlai.core.metrics:Metrics.__init__'
    monkeypatch.setitem(parlai_internals.RELIED_ON, relied_on, ('0' * 16, 'our.module', 'a test'))
    monkeypatch.setattr(parlai_overridden, 'OVERRIDDEN', {
        'our.module': {'parlai.core.agents:Agent.act': '0' * 16}
    })
    monkeypatch.setitem(sys.modules, 'our.module', sys.modules[__name__])
    monkeypatch.setattr(parlai_internals, '_warned', set())
    monkeypatch.setattr(parlai_internals, '_checked_modules', set())
    parlai_internals.check_relied_on(relied_on)
    parlai_internals.check_loaded_overrides()
    parlai_internals.check_loaded_overrides()
    assert capsys.readouterr().err.splitlines() == [
        'parlai-prosocial: warning: parlai.core.metrics:Metrics.__init__ is no longer the ParlAI '
        '1.7.2 code that our.module relies on (a test); results may differ',
        'parlai-prosocial: warning: parlai.core.agents:Agent.act is no longer the ParlAI 1.7.2 '
        'code that our.module overrides; results may differ',
    ]


# --- one module per purpose, no import cycle --------------------------------------------------


def _import_graph(repo_dir, at_import_only):
    """
    ``{module: {modules of ours it imports}}`` for every module of ``parlai_prosocial`` (its
    tasks and zoo entries too), read with ``ast``; with ``at_import_only``, the imports that run
    when the module is imported (not those inside a function). The registry's fixes, imported by
    name, count as imports of the registry.
    """
    import ast
    import os

    from parlai_prosocial.parlai_fixes import FIXES

    roots = {'parlai_prosocial': 'parlai_prosocial', 'parlai_prosocial.tasks': 'tasks',
             'parlai_prosocial.zoo': 'zoo'}
    files = {}
    for package, folder in roots.items():
        for directory, folders, names in os.walk(os.path.join(repo_dir, folder)):
            folders[:] = [f for f in folders if f != '__pycache__']
            for name in names:
                if name.endswith('.py'):
                    path = os.path.join(directory, name)
                    parts = os.path.relpath(path, os.path.join(repo_dir, folder))[:-3].split(os.sep)
                    files['.'.join([package] + parts).removesuffix('.__init__')] = path

    def imports(module, path):
        tree = ast.parse(open(path, encoding='utf-8').read())
        nodes, found = list(tree.body), set()
        while nodes:
            node = nodes.pop()
            if at_import_only and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                    ast.Lambda)):
                continue
            nodes.extend(ast.iter_child_nodes(node))
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ''
                if node.level:  # relative: from the package of the module (itself if one)
                    parts = module.split('.')
                    parts = parts[: len(parts) - node.level + path.endswith('__init__.py')]
                    base = '.'.join(parts + ([node.module] if node.module else []))
                found.update(f'{base}.{alias.name}' if f'{base}.{alias.name}' in files else base
                             for alias in node.names)
        return {name for name in found if name in files and name != module}

    graph = {module: imports(module, path) for module, path in files.items()}
    graph['parlai_prosocial.parlai_fixes'] |= {
        f'parlai_prosocial.parlai_fixes.{fix.where}' for fix in FIXES}
    return graph


def _cycle(graph, among):
    """
    A cycle of ``graph`` among the modules ``among``, as a list, or None.
    """
    done, path = set(), []

    def visit(module):
        if module in path:
            return path[path.index(module):] + [module]
        if module in done:
            return None
        path.append(module)
        for other in sorted(graph[module] & among):
            cycle = visit(other)
            if cycle:
                return cycle
        path.pop()
        done.add(module)
        return None

    for module in sorted(among):
        cycle = visit(module)
        if cycle:
            return cycle
    return None


def test_no_import_cycle(repo_dir):
    # no module of the plugin imports itself back while it is imported
    at_import = _import_graph(repo_dir, at_import_only=True)
    assert _cycle(at_import, set(at_import)) is None
    # the start-up hook, the registry and everything they reach: no cycle even through the
    # imports made inside functions
    graph = _import_graph(repo_dir, at_import_only=False)
    reached, todo = set(), ['parlai_prosocial.plugin_hook']
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo.extend(graph[module])
    assert {'parlai_prosocial.parlai_fixes.our_runs', 'parlai_prosocial.error_translation',
            'parlai_prosocial.our_names'} <= reached
    assert _cycle(graph, reached) is None


def test_no_helper_of_the_product_lives_in_a_fix_module():
    # the report, the listing and the tests import their helpers from modules named for them
    import importlib
    import inspect

    from parlai_prosocial.parlai_fixes import FIXES

    for where in {fix.where for fix in FIXES}:
        module = importlib.import_module(f'parlai_prosocial.parlai_fixes.{where}')
        public = {name for name, value in vars(module).items() if inspect.isfunction(value)
                  and value.__module__ == module.__name__ and not name.startswith('_')}
        fixes = {fix.name for fix in FIXES if fix.where == where}
        helpers = {'parlai_unpickling_load', 'build_dict_for_workers', 'cpu_only'}
        assert public - fixes <= helpers, where


# --- when a fix acts: only where the run names something of ours --------------------------------


@pytest.mark.parametrize('opt, ours', [
    ({'task': 'integration_tests', 'model': 'transformer/generator'}, False),
    ({'task': 'prosocial:safety,dailydialog'}, True),
    ({'task': 'dailydialog,casual_safety:convai2'}, True),
    ({'evaltask': 'toxichat:stance'}, True),
    ({'model': 'canary_guard'}, True),
    ({'model': 'parlai_prosocial.agents.prost.agents:ProstAgent'}, True),
    ({'init_opt': 'prosocial/tiny_prost'}, True),
    ({'init_opt': 'gen/blenderbot'}, False),
    ({'model_file': 'zoo:canary/model'}, True),
    ({'init_model': 'zoo:blender/reddit_3B/model'}, False),
    ({'t5_model_arch': 'parlai_prosocial/tiny-t5'}, True),
    ({}, False),
])
def test_the_one_decision_whether_a_run_is_ours(opt, ours):
    from parlai_prosocial.our_names import is_our_run

    assert is_our_run(opt) is ours


def test_a_model_file_is_ours_when_its_saved_options_name_ours(tmp_path):
    import json

    from parlai_prosocial.our_names import is_our_run

    for name, saved, ours in (('prost', {'model': 'prost'}, True),
                              ('theirs', {'model': 'transformer/generator'}, False),
                              ('on_ours', {'model': 'transformer/generator',
                                           'task': 'soda'}, True)):
        (tmp_path / f'{name}.opt').write_text(json.dumps(saved))
        assert is_our_run({'model_file': str(tmp_path / name)}) is ours, name
        assert is_our_run({'init_model': str(tmp_path / name)}) is ours, name
    # cut short: what can be read of it
    (tmp_path / 'cut.opt').write_text('{"model": "canary", "ta')
    assert is_our_run({'model_file': str(tmp_path / 'cut')})
    # an installed zoo model of ours, as ParlAI's parser resolves zoo:prost/model
    assert is_our_run({'model_file': str(tmp_path / 'models' / 'prost' / 'model'),
                       'datapath': str(tmp_path)})


def _help(script, args):
    import importlib

    parser = importlib.import_module(f'parlai.scripts.{script}').setup_args()
    parser.add_extra_args(args)
    return parser.format_help()


@pytest.mark.parametrize('script', ['train_model', 'multiprocessing_train', 'eval_model'])
def test_a_stock_runs_parser_and_help_have_no_option_of_ours(script):
    stock = _help(script, ['-t', 'integration_tests', '-m', 'transformer/generator'])
    assert 'global-batchsize' not in stock and 'parlai-prosocial' not in stock.lower()
    ours = _help(script, ['-t', 'prosocial:rot_response', '-m', 'transformer/generator'])
    assert ('--global-batchsize' in ours) == (script != 'eval_model')
    assert 'global-batchsize' in _help('train_model', ['-o', 'prosocial/tiny_generator'])


# --- ParlAI stays ParlAI ----------------------------------------------------------------------

#: a ParlAI-only run that stock ParlAI repeats bit for bit (issue 24): tiny sizes, no dropout,
#: ordered data, from a model file M; evaluated on a few examples, without generating
TINY = ['-m', 'transformer/generator', '--n-layers', '1', '--embedding-size', '16',
        '--ffn-size', '32', '--n-heads', '2', '--dropout', '0', '--skip-generation', 'true']
SHORT = ['-vme', '16', '--short-final-eval', 'true']
STOCK_RUN = ['-t', 'integration_tests', '-dt', 'train:ordered', '--lr-scheduler', 'invsqrt',
             '--max-train-steps', '8', '-bs', '4'] + TINY + SHORT
#: what a run measures with the clock
TIMED = {'exps', 'ups', 'tps', 'ctps', 'ltps', 'gen_tps', 'train_time'}

#: the same commands through the same entry as the test's process (the `parlai` command's)
RUN_SCRIPT = '''
import json, sys
from parlai.core.script import superscript_main

train, evaluate = json.loads(sys.argv[1])
valid, test = superscript_main(['train_model'] + train)
report = superscript_main(['eval_model'] + evaluate)
print(json.dumps([{k: v.value() for k, v in r.items()} for r in (valid, test, report)]))
'''


def _stock_commands(model_file, init_model, datapath):
    train = STOCK_RUN + ['--init-model', init_model, '-mf', model_file, '--datapath', datapath]
    evaluate = ['-t', 'integration_tests', '-mf', model_file, '--datapath', datapath, '-bs', '4',
                '-ne', '16', '--skip-generation', 'true']
    return train, evaluate


def _untimed(report):
    return {key: value for key, value in report.items() if key not in TIMED}


@pytest.fixture(scope='module')
def stock_init_model(tmp_path_factory):
    """
    M: a tiny ``transformer/generator`` trained a few steps on ParlAI's integration_tests.
    """
    from parlai_prosocial.testing import parlai_in_process

    root = tmp_path_factory.mktemp('stock')
    model_file = str(root / 'M' / 'model')
    parlai_in_process(['train_model', '-t', 'integration_tests', '--max-train-steps', '4',
                       '--lr-scheduler', 'invsqrt', '-bs', '8', '-mf', model_file,
                       '--datapath', str(root / 'data')]
                      + TINY + SHORT, cwd=str(root))
    return model_file


def _run_in_a_new_process(directory, init_model, plugin):
    """
    The ParlAI-only run (train, then evaluate) in a new process with the plugin on or off: its
    [valid, test, evaluation] reports and its model's weights.
    """
    import json

    train, evaluate = _stock_commands(str(directory / 'model'), init_model,
                                      str(directory / 'data'))
    # a new process, the same but for the switch: nothing that earlier tests left in this
    # process (seeds, torch's global state) can tell two such runs apart
    env = {k: v for k, v in os.environ.items() if k != 'PARLAI_PROSOCIAL_OFF'}
    if not plugin:
        env['PARLAI_PROSOCIAL_OFF'] = '1'
    result = subprocess.run(
        [sys.executable, '-c', RUN_SCRIPT, json.dumps([train, evaluate])],
        capture_output=True, text=True, cwd=str(directory), timeout=600, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), _weights(directory / 'model')


def _weights(model_file):
    return torch.load(str(model_file), map_location='cpu', weights_only=False)['model']


def _assert_same_run(run, weights, stock_run, stock_weights):
    assert weights.keys() == stock_weights.keys()
    for name, tensor in weights.items():
        assert torch.equal(tensor, stock_weights[name]), name
    for report, stock_report in zip(run, stock_run):
        assert _untimed(report) == _untimed(stock_report), (
            set(report.items()) ^ set(stock_report.items()))
    assert run[2]['exs'] > 0


@pytest.fixture(scope='module')
def stock_parlai_run(stock_init_model, tmp_path_factory):
    """
    The ParlAI-only run from M with the plugin switched off, in a new process: (reports, weights).
    """
    directory = tmp_path_factory.mktemp('plugin_off')
    return _run_in_a_new_process(directory, stock_init_model, plugin=False)


def test_a_parlai_only_run_is_the_same_with_the_plugin_on_and_off(stock_init_model,
                                                                   stock_parlai_run, tmp_path):
    """
    Stock ParlAI repeats this run bit for bit; with the plugin (a new process) it gives the very
    weights and metrics that it gives with the plugin switched off (PARLAI_PROSOCIAL_OFF=1 in
    another), throughput aside: no fix acts on a run that names nothing of ours but those
    of ParlAI bugs, and this run meets none.
    """
    _assert_same_run(*_run_in_a_new_process(tmp_path, stock_init_model, plugin=True),
                     *stock_parlai_run)


def _torch_settings():
    """
    What torch keeps for the whole process that a run's floats or its path depend on.
    """
    return {
        'threads': torch.get_num_threads(),
        'interop threads': torch.get_num_interop_threads(),
        'deterministic': torch.are_deterministic_algorithms_enabled(),
        'default dtype': torch.get_default_dtype(),
        'grad': torch.is_grad_enabled(),
        'process group': torch.distributed.is_initialized(),
        'DDP': torch.nn.parallel.DistributedDataParallel,
    }


def test_runs_of_ours_leave_nothing_that_changes_a_later_parlai_only_run(
        stock_init_model, stock_parlai_run, sample_data_dir, tmp_path):
    """
    In one process, as in a pytest worker or a user's notebook: a training of ours (a global batch
    drawn as one over 2 micro-batches: the draws' own stream), an evaluation of ours (seeded) and
    a CPU gloo group of ours (what rank 0 of a ``multiprocessing_train`` of ours runs in the
    parent), then the ParlAI-only run: it gives stock ParlAI's weights and metrics in a new process
    (PARLAI_PROSOCIAL_OFF=1). Our runs seed the global generators as ParlAI's own do
    (``eval_model``'s ``random.seed(42)``, ``--seed``, the distributed group's
    ``torch.manual_seed(42)``); this run draws nothing from them (M's weights, no dropout, ordered
    data), so what could still tell the two apart is torch's process-wide state: checked
    unchanged by our runs, and the suite's (one thread, root conftest.py) is what the new process
    gets from OMP_NUM_THREADS=1 (a thread count of 2 left by an earlier test changed every
    weight by ~1e-8).
    """
    import parlai.utils.distributed as distributed_utils

    from parlai_prosocial.testing import parlai_in_process

    before = _torch_settings()
    ours = str(tmp_path / 'ours' / 'model')
    env = {'PROSOCIAL_DATA_DIR': sample_data_dir}
    parlai_in_process(['train_model', '-o', 'prosocial/tiny_generator', '-t',
                       'prosocial:rot_response', '-mf', ours, '--global-batchsize', '4',
                       '--update-freq', '2', '--max-train-steps', '2', '-vme', '8',
                       '--short-final-eval', 'true', '--skip-generation', 'true'],
                      cwd=str(tmp_path), env_extra=env)
    parlai_in_process(['eval_model', '-t', 'prosocial:rot_response', '-mf', ours, '-ne', '4',
                       '--inference', 'topk'], cwd=str(tmp_path), env_extra=env)
    opt = {'task': 'prosocial:rot_response', 'distributed_world_size': 1, 'no_cuda': True}
    init = f'tcp://127.0.0.1:{distributed_utils.find_free_port()}'
    with distributed_utils.distributed_context(0, opt, init_method=init):
        distributed_utils.sync_parameters(torch.nn.Linear(2, 2))
    assert _torch_settings() == before

    train, evaluate = _stock_commands(str(tmp_path / 'parlai' / 'model'), stock_init_model,
                                      str(tmp_path / 'data'))
    valid, test = parlai_in_process(['train_model'] + train, cwd=str(tmp_path)).value
    report = parlai_in_process(['eval_model'] + evaluate, cwd=str(tmp_path)).value
    run = [{k: v.value() for k, v in r.items()} for r in (valid, test, report)]
    _assert_same_run(run, _weights(tmp_path / 'parlai' / 'model'), *stock_parlai_run)


def test_the_plugin_can_be_switched_off_for_one_process():
    code = (
        "import sys, warnings\n"
        "import parlai.core.params, parlai.core.opt, parlai.scripts.train_model as tm\n"
        "print(any(type(f).__name__ == 'PluginFinder' for f in sys.meta_path))\n"
        "print(parlai.core.params.fix_underscores.__module__, tm.TrainLoop.__init__.__module__)\n"
        "print(any('pkg_resources' in str(f[1]) for f in warnings.filters))\n"
        "import importlib.util\n"
        "print(importlib.util.find_spec('parlai.tasks.prosocial'))\n"
    )
    off = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, PARLAI_PROSOCIAL_OFF='1'))
    assert off.returncode == 0, off.stderr
    assert off.stdout.split() == ['False', 'parlai.core.params', 'parlai.scripts.train_model',
                                  'False', 'None']


def test_underscores_are_fixed_in_option_names_only():
    from parlai.core.params import ParlaiParser, fix_underscores

    assert fix_underscores(
        ['--gradient_clip', '0.5', '--model_file=/a_b/c', '--guarded-args', '--model-file /x_y/m', 5]
    ) == ['--gradient-clip', '0.5', '--model-file=/a_b/c', '--guarded-args', '--model-file /x_y/m', 5]
    # a value holding options of its own (canary_guard's) keeps its paths as typed
    opt = ParlaiParser(True, True).parse_args(
        ['-m', 'canary_guard', '--guarded-args', '--model-file /models/my_prost/model',
         '--allow_missing_init_opts', 'true']
    )
    assert opt['guarded_args'] == '--model-file /models/my_prost/model'
    assert opt['allow_missing_init_opts'] is True


def test_a_log_level_set_after_logging_at_another_applies_at_once():
    from parlai.utils import logging

    before = logging.logger.level
    try:
        logging.set_log_level('INFO')
        logging.info('a line at info: the logger caches that INFO is enabled')
        logging.set_log_level('REPORT')
        assert not logging.logger.isEnabledFor(logging.INFO)
        assert logging.logger.isEnabledFor(logging.REPORT)
    finally:
        logging.set_log_level(before)


def test_a_classifiers_update_freq_accumulates_its_micro_batches(tmp_path):
    """
    One update of ParlAI's classifier from 2 micro-batches of 2 (``--update-freq 2``) is the
    update of one batch of 4 (plain SGD, so the weights moved are the gradient; the same four
    examples in order); ParlAI 1.7.2 kept only the last micro-batch.
    """
    import torch
    from parlai.scripts.train_model import TrainModel

    def trained(name, batchsize, update_freq):
        model_file = str(tmp_path / name / 'model')
        TrainModel.main(
            task='integration_tests:classifier', datatype='train:ordered',
            model='transformer/classifier', classes=['zero', 'one'], model_file=model_file,
            dict_file=str(tmp_path / 'model.dict'), n_layers=1, n_heads=1, embedding_size=8,
            ffn_size=8, dropout=0, optimizer='sgd', learningrate=1, lr_scheduler='none',
            batchsize=batchsize, update_freq=update_freq, max_train_steps=1,
            validation_every_n_epochs=-1, seed=0, datapath=str(tmp_path / 'data'),
            loglevel='warn',
        )
        return torch.load(model_file, weights_only=True)['model']

    one_batch, accumulated = trained('one_batch', 4, 1), trained('accumulated', 2, 2)
    for name, weight in one_batch.items():
        torch.testing.assert_close(accumulated[name], weight, atol=1e-5, rtol=1e-5, msg=name)
