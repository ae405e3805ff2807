"""
The stock ``parlai`` command finds our names: in this process, in a new process, in a process
that multiprocessing *spawns* (so nothing is inherited), and after both a normal (wheel) and an
editable install into a fresh virtualenv.
"""

import importlib
import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import pytest

from parlai_prosocial.plugin_hook import ALIASES


@pytest.mark.parametrize('parlai_name', sorted(ALIASES))
def test_aliases_never_shadow_a_parlai_module(parlai_name):
    package_name, _, leaf = parlai_name.rpartition('.')
    package = importlib.import_module(package_name)
    assert importlib.machinery.PathFinder.find_spec(leaf, package.__path__) is None


@pytest.mark.parametrize('parlai_name', sorted(ALIASES))
def test_alias_is_the_very_same_module(parlai_name):
    ours = importlib.import_module(ALIASES[parlai_name])
    assert importlib.import_module(parlai_name) is ours


def test_submodules_and_classes_have_one_identity():
    from parlai.core.loader import load_teacher_module
    from parlai_prosocial.tasks.prosocial import agents

    import parlai.tasks.prosocial.agents as via_parlai

    assert via_parlai is agents
    assert load_teacher_module('prosocial:rot_response') is agents.RotResponseTeacher
    assert load_teacher_module('prosocial') is agents.DefaultTeacher


def test_parlais_own_prosocial_dialog_task_is_untouched():
    from parlai.core.loader import load_teacher_module

    teacher = load_teacher_module('prosocial_dialog')
    assert teacher.__module__ == 'parlai.tasks.prosocial_dialog.agents'


# Runs in a new interpreter; spawns a worker the way multiprocessing_train does (spawn start
# method: a fresh interpreter that inherits no imports and no registries from its parent).
SPAWN_SCRIPT = textwrap.dedent(
    '''
    import multiprocessing


    def resolve(queue):
        from parlai.core.loader import load_teacher_module
        from parlai.core.opt import Opt

        teacher = load_teacher_module('prosocial:rot_response')
        preset = Opt.load_init('prosocial/tiny_generator')
        queue.put((teacher.__module__ + ':' + teacher.__name__, preset['model']))


    if __name__ == '__main__':
        context = multiprocessing.get_context('spawn')
        queue = context.Queue()
        worker = context.Process(target=resolve, args=(queue,))
        worker.start()
        print(queue.get(timeout=300))
        worker.join()
        assert worker.exitcode == 0, worker.exitcode
    '''
)


def _check_resolves_everywhere(python, cwd, data_dir, run_parlai):
    script = os.path.join(cwd, 'spawn_worker.py')
    with open(script, 'w') as f:
        f.write(SPAWN_SCRIPT)
    spawned = subprocess.run(
        [python, script], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert spawned.returncode == 0, spawned.stderr[-3000:]
    assert (
        "('parlai_prosocial.tasks.prosocial.agents:RotResponseTeacher', "
        "'transformer/generator')" in spawned.stdout
    )
    shown = run_parlai(
        ['display_data', '-t', 'prosocial:rot_response', '-n', '1'],
        cwd=cwd,
        env_extra={'PROSOCIAL_DATA_DIR': data_dir},
        python=python,
    )
    assert "I'm going to call 911 just for fun tonight." in shown.stdout
    assert '__endrots__' in shown.stdout


def test_in_this_environment(tmp_path, sample_data_dir, run_parlai):
    _check_resolves_everywhere(sys.executable, str(tmp_path), sample_data_dir, run_parlai)


def _fresh_venv_seeing_our_dependencies(path):
    """
    A new virtualenv whose sys.path reaches this environment's packages (ParlAI, torch) through a
    plain path entry: that adds the directory but runs none of its .pth files, so our own
    installation there is invisible and only the one under test is active.
    """
    subprocess.run([sys.executable, '-m', 'venv', path], check=True)
    python = os.path.join(path, 'bin', 'python')
    # the build uses the locked setuptools of this environment, not the older one venv bundles
    subprocess.run(
        [python, '-m', 'pip', 'uninstall', '-q', '-y', 'setuptools'], capture_output=True, check=True
    )
    venv_site = subprocess.run(
        [python, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with open(os.path.join(venv_site, 'zz_outer_environment.pth'), 'w') as f:
        f.write(sysconfig.get_paths()['purelib'] + '\n')
    return python


@pytest.mark.parametrize('editable', [False, True], ids=['wheel', 'editable'])
def test_after_a_fresh_install(tmp_path, sample_data_dir, run_parlai, repo_dir, editable):
    python = _fresh_venv_seeing_our_dependencies(str(tmp_path / 'venv'))
    install = [python, '-m', 'pip', 'install', '-q', '--no-deps', '--no-build-isolation']
    if editable:
        install += ['-e', repo_dir]
    else:
        # setuptools builds inside the source tree (build/, *.egg-info): build from a copy, so the
        # test leaves the checkout as it was and no earlier build's leftovers reach the wheel
        source = tmp_path / 'source'
        shutil.copytree(
            repo_dir,
            source,
            ignore=shutil.ignore_patterns(
                '.git', '.venv', 'build', '*.egg-info', '__pycache__', 'quickstart', '.pytest_cache'
            ),
        )
        install += [str(source)]
    result = subprocess.run(install, capture_output=True, text=True, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    where = subprocess.run(
        [python, '-c', 'import parlai_prosocial; print(parlai_prosocial.__file__)'],
        capture_output=True,
        text=True,
        cwd=str(tmp_path),
    ).stdout
    expected_root = repo_dir if editable else str(tmp_path / 'venv')
    assert where.startswith(expected_root), where
    assert _installed_top_level_names(python, str(tmp_path)) == (
        {'__editable___parlai_prosocial_0_1_0_finder'} if editable else {'parlai_prosocial'}
    )
    work = tmp_path / 'work'
    work.mkdir()
    _check_resolves_everywhere(python, str(work), sample_data_dir, run_parlai)


TOP_LEVEL_SCRIPT = textwrap.dedent(
    '''
    import importlib.util
    import json
    from importlib.metadata import distribution

    names = set()
    for file in distribution('parlai-prosocial').files:
        top = file.parts[0]
        if top.endswith(('.dist-info', '.pth')) or top == '__pycache__':
            continue
        names.add(top[: -len('.py')] if top.endswith('.py') else top)
    # the repository's top-level folders are installed inside the package only
    for folder in ('tasks', 'zoo', 'opt_presets', 'tests', 'projects'):
        spec = importlib.util.find_spec(folder)
        assert spec is None or 'parlai_prosocial' not in str(spec.origin), (folder, spec)
    print(json.dumps(sorted(names)))
    '''
)


def _installed_top_level_names(python, cwd):
    """
    The names the installed distribution puts at the top of site-packages (.pth and metadata
    aside): a top-level ``tasks`` or ``zoo`` would collide with other distributions.
    """
    result = subprocess.run(
        [python, '-c', TOP_LEVEL_SCRIPT], capture_output=True, text=True, cwd=cwd
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


# --- the hook among other finders and installations ---------------------------------------------

OTHER_FINDERS_SCRIPT = textwrap.dedent(
    '''
    import importlib
    import sys

    from parlai_prosocial.plugin_hook import PluginFinder


    class AsksEveryoneElse:
        """Another plugin's finder of our shape: it asks the rest of sys.meta_path."""

        def find_spec(self, name, path=None, target=None):
            if not name.startswith('parlai.'):
                return None
            for finder in list(sys.meta_path):
                if finder is not self and hasattr(finder, 'find_spec'):
                    spec = finder.find_spec(name, path, target)
                    if spec is not None:
                        return spec
            return None


    # in front of ours: a second plugin, and a second copy of our own finder
    sys.meta_path.insert(0, PluginFinder())
    sys.meta_path.insert(0, AsksEveryoneElse())
    from parlai.core.opt import Opt

    print(Opt.load_init('prosocial/tiny_generator')['model'])
    import parlai.nn.lr_scheduler as lr_scheduler

    print(lr_scheduler.ReduceOnPlateauLRScheduler.__init__.__qualname__)
    '''
)


def test_other_finders_of_our_shape_neither_recurse_nor_fix_twice(tmp_path):
    result = subprocess.run(
        [sys.executable, '-c', OTHER_FINDERS_SCRIPT],
        capture_output=True,
        text=True,
        cwd=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    model, init_name = result.stdout.split()
    assert model == 'transformer/generator'
    # applied once: our __init__ replaced ParlAI's, and was not wrapped by a second application
    assert init_name == 'reduce_on_plateau_without_verbose.<locals>.__init__'


def test_installing_the_hook_again_wraps_nothing_twice():
    import parlai.core.params as params
    from parlai.scripts.train_model import TrainLoop

    from parlai_prosocial import plugin_hook

    before = params.ParlaiParser.parse_args, TrainLoop.__init__, TrainLoop.log
    plugin_hook.install()
    assert (params.ParlaiParser.parse_args, TrainLoop.__init__, TrainLoop.log) == before


def test_aliased_modules_keep_their_own_spec():
    import parlai.tasks.prosocial
    import parlai_prosocial.tasks.prosocial as ours

    assert parlai.tasks.prosocial.__spec__.name == 'parlai_prosocial.tasks.prosocial'
    assert importlib.reload(parlai.tasks.prosocial) is ours


def _pth_site(tmp_path, repo_dir, pth_name, later_paths=()):
    """
    A site directory holding our .pth (under ``pth_name``) and, in a .pth read after it, plain
    path lines ``later_paths``.
    """
    site_dir = tmp_path / 'site'
    site_dir.mkdir()
    with open(os.path.join(repo_dir, 'parlai_prosocial.pth')) as f:
        (site_dir / pth_name).write_text(f.read())
    if later_paths:
        (site_dir / 'zz_later_paths.pth').write_text(''.join(p + '\n' for p in later_paths))
    return str(site_dir)


def _run_without_site_packages(code, cwd):
    # -S: none of this environment's site-packages or .pth files; the test adds what it needs
    return subprocess.run(
        [sys.executable, '-S', '-c', code], capture_output=True, text=True, cwd=cwd
    )


def test_pth_of_a_removed_package_warns_in_one_line(tmp_path, repo_dir):
    site_dir = _pth_site(tmp_path, repo_dir, 'parlai_prosocial.pth')
    purelib = sysconfig.get_paths()['purelib']  # ParlAI, but not our (editable) package
    result = _run_without_site_packages(
        f'import site, sys; site.addsitedir({site_dir!r}); sys.path.append({purelib!r}); '
        'import parlai',
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.splitlines() == [
        'parlai-prosocial: warning: its start-up hook parlai_prosocial.pth is installed but the '
        'parlai_prosocial package is gone (a deleted checkout?): pip uninstall parlai-prosocial'
    ]


def test_the_hook_does_not_depend_on_pth_order(tmp_path, repo_dir):
    # our .pth is read first; the package becomes importable only through a .pth read later
    # (as when an editable install's finder sorts after us)
    purelib = sysconfig.get_paths()['purelib']
    site_dir = _pth_site(tmp_path, repo_dir, 'a_parlai_prosocial.pth', [purelib, repo_dir])
    result = _run_without_site_packages(
        f'import site; site.addsitedir({site_dir!r}); '
        'import parlai.nn.lr_scheduler as s; '
        'print(s.ReduceOnPlateauLRScheduler.__init__.__qualname__)',
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ['reduce_on_plateau_without_verbose.<locals>.__init__']


NOISY_SCRIPT = (
    'import sys\n'
    'import parlai.core.opt\n'
    'import transformers.utils.generic\n'
    'from parlai.core.params import ParlaiParser\n'
    'from parlai.core.script import ParlaiScript\n'
    'from parlai.utils.misc import nice_report\n'
    'class Report(ParlaiScript):\n'
    '    @classmethod\n'
    '    def setup_args(cls):\n'
    '        return ParlaiParser(True, True)\n'
    '    def run(self):\n'
    "        return nice_report({'loss': 1.5, 'ppl': 4.5})\n"
    "task = 'prosocial' if 'ours' in sys.argv[1:] else 'integration_tests'\n"
    "Report.main('-t', task, '-m', 'repeat_label')\n"
    "if 'then-stock' in sys.argv[1:]:  # after the run of ours: stock ParlAI's output again\n"
    "    nice_report({'loss': 1.5, 'ppl': 4.5})\n"
)
STACK_NOISE = 'The previous implementation of stack is deprecated'


def _noisy(tmp_path, *args, warnings=()):
    return subprocess.run(
        [sys.executable, *[f'-W{w}' for w in warnings], '-c', NOISY_SCRIPT, *args],
        capture_output=True, text=True, cwd=str(tmp_path),
    )


def test_known_noise_is_quiet_in_our_runs_and_a_users_own_filter_still_wins(tmp_path):
    quiet = _noisy(tmp_path, 'ours')
    assert quiet.returncode == 0 and quiet.stderr == '', quiet.stderr
    # only while it runs: the same message after it is stock ParlAI's
    after = _noisy(tmp_path, 'ours', 'then-stock')
    assert after.returncode == 0 and STACK_NOISE in after.stderr, after.stderr
    # a run that names nothing of ours prints what stock ParlAI prints, but for the warnings
    # raised on import (before any command line is parsed), which are the pinned set's
    stock = _noisy(tmp_path)
    assert stock.returncode == 0 and STACK_NOISE in stock.stderr, stock.stderr
    assert 'pkg_resources' not in stock.stderr and '_pytree' not in stock.stderr
    strict = _noisy(tmp_path, 'ours', warnings=['error::UserWarning'])
    assert strict.returncode != 0
    assert 'UserWarning: pkg_resources is deprecated' in strict.stderr
