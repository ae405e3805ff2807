"""
The fixes applied to ParlAI modules on import (parlai_prosocial.parlai_fixes).
"""

import subprocess
import sys

import pytest
import torch

from parlai.core.opt import Opt
from parlai.nn.lr_scheduler import ParlAILRScheduler, ReduceOnPlateauLRScheduler

from parlai_prosocial.parlai_fixes import our_opt_presets_dir


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


# --- every fix checks that ParlAI's code is still the code it replaces --------------------------


def test_every_registered_fix_declares_the_parlai_code_it_replaces():
    from parlai_prosocial import parlai_fixes, parlai_internals
    from parlai_prosocial.plugin_hook import FIXES

    registered = {name for names in FIXES.values() for name in names}
    assert registered == set(parlai_internals.REPLACED)
    for name in registered:
        assert callable(getattr(parlai_fixes, name)), name


def test_the_installed_parlai_is_the_code_every_fix_replaces_and_relies_on():
    from parlai_prosocial import parlai_internals

    for fix_name in parlai_internals.REPLACED:
        assert parlai_internals.stale_targets(fix_name) == [], fix_name
    for name, (expected, _) in parlai_internals.RELIED_ON.items():
        assert parlai_internals.source_hash(name) == expected, name


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

    names = [n for targets in pi.REPLACED.values() for n in targets] + list(pi.RELIED_ON)
    for name in names:
        module_name, _, path = name.partition(':')
        whole = pi._definition(pi._module_text(module_name), pi._parsed_module(module_name), path)
        assert pi.source_hash(name) == hashlib.sha256(whole.encode()).hexdigest()[:16], name
    # a block cut inside a string with a line at column 0 does not parse: the whole module then
    text = 'def f():\n    return """\nfoo\n"""\n\n\ndef g():\n    pass\n'
    assert pi._top_level_block(text, 'f') == 'def f():\n    return """\n'


def test_a_changed_target_skips_the_fix_with_one_warning_line(monkeypatch, capsys):
    import types

    from parlai_prosocial import parlai_fixes, parlai_internals

    monkeypatch.setitem(
        parlai_internals.REPLACED,
        'reduce_on_plateau_without_verbose',
        {'parlai.nn.lr_scheduler:ReduceOnPlateauLRScheduler.__init__': '0' * 16},
    )
    monkeypatch.setattr(parlai_internals, '_warned', set())
    called = []
    monkeypatch.setattr(
        parlai_fixes, 'reduce_on_plateau_without_verbose', lambda module: called.append(module)
    )
    module = types.ModuleType('parlai.nn.lr_scheduler')
    assert parlai_internals.apply_fix('reduce_on_plateau_without_verbose', module) is False
    assert parlai_internals.apply_fix('reduce_on_plateau_without_verbose', module) is False
    assert called == []
    assert capsys.readouterr().err.splitlines() == [
        'parlai-prosocial: warning: fix reduce_on_plateau_without_verbose not applied: '
        'parlai.nn.lr_scheduler:ReduceOnPlateauLRScheduler.__init__ is no longer the ParlAI '
        '1.7.2 code it replaces'
    ]


def test_a_security_fix_fails_closed(monkeypatch):
    import types

    from parlai_prosocial import parlai_internals

    monkeypatch.setitem(
        parlai_internals.REPLACED, 'find_our_opt_presets', {'parlai.core.opt:Opt.load_init': 'x'}
    )
    monkeypatch.setattr(parlai_internals, 'FAIL_CLOSED', {'find_our_opt_presets'})
    with pytest.raises(parlai_internals.ParlAICodeChanged, match='refusing to run without it'):
        parlai_internals.apply_fix('find_our_opt_presets', types.ModuleType('parlai.core.opt'))


def test_relied_on_internals_warn_once_when_changed(monkeypatch, capsys):
    from parlai_prosocial import parlai_internals

    name = 'parlai.core.metrics:Metrics.__init__'
    monkeypatch.setitem(parlai_internals.RELIED_ON, name, ('0' * 16, 'a test'))
    monkeypatch.setattr(parlai_internals, '_warned', set())
    parlai_internals.check_relied_on(name)
    parlai_internals.check_relied_on(name)
    assert capsys.readouterr().err.splitlines() == [
        'parlai-prosocial: warning: parlai.core.metrics:Metrics.__init__ is no longer the ParlAI '
        '1.7.2 code that a test; results may differ'
    ]


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
