"""
The names this plugin adds to ParlAI, in one place, and the one decision "does this run name
something of ours?".

:data:`TASKS`, :data:`AGENTS` and :data:`ZOO` are the plugin's ``-t``, ``-m`` and ``zoo:`` names;
the start-up hook's aliases (``parlai.tasks.prosocial`` -> ``parlai_prosocial.tasks.prosocial``),
the listing (``python -m parlai_prosocial``), the samples and Canary's stage-1 corpora are derived
from them. :func:`is_our_run` is what every fix that is not a ParlAI bug fix asks before it acts
(docs/parlai_fixes.md): a run is ours when it names an agent, task, preset, zoo entry or model
file of ours.

Nothing here imports ParlAI or torch at module level: the start-up hook imports this module in
every Python process of the environment.
"""

import os
import re

#: our ``-t`` names (``parlai_prosocial.tasks.NAME``), in the order the listing shows them
TASKS = (
    'prosocial', 'soda', 'topical_chat', 'toxichat', 'casual_safety', 'social_chem', 'mic',
    'norm_bank',
)
#: the norm corpora (tasks of ours) that Canary's stage 1 trains on (``--canary-pretrained-on``)
NORM_CORPORA = ('social_chem', 'mic', 'norm_bank')
#: our ``-m`` names (``parlai_prosocial.agents.NAME``)
AGENTS = ('prost', 'canary', 'canary_guard', 'cosmo', 'dialogpt_local', 'bad_classifier')
#: our ``zoo:NAME/...`` entries (``parlai_prosocial.zoo.NAME``)
ZOO = ('prost', 'canary')
#: the folder of the presets, ``-o prosocial/NAME`` (:mod:`parlai_prosocial.presets`)
OUR_PRESETS = 'prosocial'
#: ``--t5-model-arch`` naming the tiny random T5 of the ``tiny_*`` presets
#: (:mod:`parlai_prosocial.options`)
TINY_T5 = 'parlai_prosocial/tiny-t5'

_KINDS = {'tasks': TASKS, 'agents': AGENTS, 'zoo': ZOO}

#: ParlAI module name -> our module name: what the start-up hook aliases. The names must not exist
#: in ParlAI itself (``tests/test_plugin_hook.py`` checks it), so no ParlAI module is shadowed.
ALIASES = {
    f'parlai.{kind}.{name}': f'parlai_prosocial.{kind}.{name}'
    for kind, names in _KINDS.items()
    for name in names
}


def aliased(kind):
    """
    The plugin's names of ``kind`` (``tasks``, ``agents``, ``zoo``) as ParlAI takes them (``-t``,
    ``-m``, ``zoo:``).
    """
    return list(_KINDS[kind])


# --- is this run ours? ---------------------------------------------------------------------


def _names_our_agent(model):
    return isinstance(model, str) and (model in AGENTS or model.startswith('parlai_prosocial'))


def _names_our_task(task):
    for part in str(task or '').split(','):
        name = part.strip().split(':')[0]
        if name in TASKS or name.startswith('parlai_prosocial'):
            return True
    return False


def _names_our_preset(init_opt):
    return str(init_opt or '').startswith(OUR_PRESETS + '/')


def names_ours(model=None, task=None, init_opt=None):
    """
    Whether a ``-m`` model, a ``-t`` task string or a ``-o`` preset is one of ours.
    """
    return _names_our_agent(model) or _names_our_task(task) or _names_our_preset(init_opt)


def _saved_names(opt_file):
    """
    ``(model, task, init_opt)`` as saved in a model file's ``.opt``; from what can be read of it
    when it is cut; Nones when there is none.
    """
    from parlai_prosocial.errors import ProsocialError
    from parlai_prosocial.model_files import saved_options

    keys = ('model', 'task', 'init_opt')
    try:
        saved = saved_options(opt_file, missing_ok=True) or {}
    except ProsocialError:  # cut, or not JSON: what its text still says
        try:
            with open(opt_file, encoding='utf-8', errors='replace') as f:
                text = f.read()
        except OSError:
            return (None,) * 3
        found = [re.search(rf'"{key}"\s*:\s*"([^"]*)', text) for key in keys]
        return tuple(match.group(1) if match else None for match in found)
    except OSError:  # unreadable: nothing it names is known
        return (None,) * 3
    return tuple(saved.get(key) for key in keys)


def _names_our_model_file(path, datapath):
    path = str(path or '')
    if not path:
        return False
    if path.startswith(tuple(f'zoo:{name}/' for name in ZOO)):
        return True
    if path.startswith('zoo:'):
        return False
    if datapath:  # a zoo path that ParlAI's parser has resolved already
        zoo_models = os.path.join(os.path.abspath(datapath), 'models', '')
        relative = os.path.abspath(path)
        if relative.startswith(zoo_models) and relative[len(zoo_models):].split(os.sep)[0] in ZOO:
            return True
    saved = _saved_names(path + '.opt')
    if not any(saved):  # a .opt that is gone, empty, {} or a list: the options its .dict was
        saved = _saved_names(path + '.dict.opt')  # built with (ParlAI saves them beside it)
    return names_ours(*saved)


def is_our_run(opt):
    """
    Whether the options of a run (a parsed ``opt``, or the options known so far) name something of
    ours: an agent (``-m``), a task (``-t``, ``--evaltask``), a preset (``-o prosocial/...``), our
    zoo entries (``zoo:prost``, ``zoo:canary``), the tiny T5 of our presets, or a model file
    (``-mf``, ``--init-model``) whose saved ``.opt`` names one of these (or, when its ``.opt``
    names nothing, the ``.dict.opt`` ParlAI saved beside its dictionary). Every fix that is not a
    ParlAI bug fix acts only when this is true; it never raises.
    """
    if not opt:
        return False
    if names_ours(opt.get('model'), opt.get('task'), opt.get('init_opt')):
        return True
    if _names_our_task(opt.get('evaltask')) or opt.get('t5_model_arch') == TINY_T5:
        return True
    return any(
        _names_our_model_file(opt.get(key), opt.get('datapath'))
        for key in ('model_file', 'init_model')
    )


# --- a teacher of ours that does not exist --------------------------------------------------


def unknown_teachers(module_name):
    """
    The module-level ``__getattr__`` of a task module of ours (``tasks/NAME/agents.py``:
    ``__getattr__ = unknown_teachers(__name__)``): ParlAI's ``load_teacher_module`` resolves
    ``-t NAME:WHAT`` by ``getattr(module, 'WhatTeacher')``, so a name that is no teacher gets one
    line listing the task's teachers (a ``ProsocialOptionError``), instead of a bare
    ``AttributeError``'s traceback. ParlAI's own extension point, not a patch: ParlAI's tasks keep
    ParlAI's error.
    """

    def __getattr__(name):
        if name.endswith('Teacher') and not name.startswith('_'):
            raise _unknown_teacher(module_name, name)
        raise AttributeError(f'module {module_name!r} has no attribute {name!r}')

    __getattr__.only_unknown_teachers = True  # (the listing tells it from casual_safety's)
    return __getattr__


def _snake(camel):
    return re.sub(r'(?<!^)(?=[A-Z])', '_', camel).lower()


def _unknown_teacher(module_name, class_name):
    import inspect
    import sys

    from parlai_prosocial.errors import ProsocialOptionError

    module = sys.modules[module_name]
    task = module_name.split('.')[-2]
    teachers = []
    for name, value in vars(module).items():
        if (inspect.isclass(value) and name.endswith('Teacher') and not name.startswith('_')
                and value.__module__ == module_name):
            words = _snake(name[: -len('Teacher')])
            teachers.append(task if name == 'DefaultTeacher' else f'{task}:{words}')
    given = f'{task}:{_snake(class_name[: -len("Teacher")])}'
    return ProsocialOptionError(
        f'-t {given}: task {task} has no such teacher; expected one of '
        f'{", ".join(sorted(teachers))}'
    )
