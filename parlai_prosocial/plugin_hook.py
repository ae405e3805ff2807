"""
Make the stock ``parlai`` command see this plugin.

ParlAI resolves ``-t NAME`` to ``parlai.tasks.NAME``, ``-m NAME`` to ``parlai.agents.NAME``,
``zoo:NAME/...`` to ``parlai.zoo.NAME`` and ``-o NAME`` to files inside the ``parlai`` package; it
reads no entry points. The ``parlai_prosocial.pth`` file installed next to this package calls
:func:`install` at interpreter start-up (so also in the workers that ``multiprocessing_train``
spawns), which puts one import finder in front of ``sys.meta_path``. The finder

* aliases the few names listed in ``ALIASES`` (``parlai.tasks.prosocial`` ->
  ``parlai_prosocial.tasks.prosocial``) to the very same module objects, so a class has one identity
  whichever name imported it;
* applies the fixes in :mod:`parlai_prosocial.parlai_fixes` right after ParlAI imports the module
  they fix, so they cost nothing to processes that never import ParlAI.

Nothing here imports ParlAI or torch: this runs in every Python process of the environment.
"""

import builtins
import importlib
import importlib.abc
import importlib.util
import re
import sys
import threading

#: ParlAI module name -> our module name. The names must not exist in ParlAI itself
#: (``tests/test_plugin_hook.py`` checks it), so no ParlAI module is ever shadowed.
ALIASES = {
    'parlai.tasks.prosocial': 'parlai_prosocial.tasks.prosocial',
    'parlai.tasks.soda': 'parlai_prosocial.tasks.soda',
    'parlai.agents.prost': 'parlai_prosocial.agents.prost',
    'parlai.zoo.prost': 'parlai_prosocial.zoo.prost',
    'parlai.tasks.topical_chat': 'parlai_prosocial.tasks.topical_chat',
    'parlai.tasks.toxichat': 'parlai_prosocial.tasks.toxichat',
    'parlai.agents.canary': 'parlai_prosocial.agents.canary',
    'parlai.zoo.canary': 'parlai_prosocial.zoo.canary',
    'parlai.tasks.casual_safety': 'parlai_prosocial.tasks.casual_safety',
    'parlai.agents.canary_guard': 'parlai_prosocial.agents.canary_guard',
    'parlai.agents.cosmo': 'parlai_prosocial.agents.cosmo',
    'parlai.tasks.social_chem': 'parlai_prosocial.tasks.social_chem',
    'parlai.tasks.mic': 'parlai_prosocial.tasks.mic',
    'parlai.tasks.norm_bank': 'parlai_prosocial.tasks.norm_bank',
    'parlai.agents.dialogpt_local': 'parlai_prosocial.agents.dialogpt_local',
    'parlai.agents.bad_classifier': 'parlai_prosocial.agents.bad_classifier',
}

#: ParlAI module -> the functions of :mod:`parlai_prosocial.parlai_fixes` run once it is imported
#: (each only if the ParlAI code it replaces is unchanged: :mod:`parlai_prosocial.parlai_internals`).
FIXES = {
    'parlai.core.opt': ('find_our_opt_presets', 'safe_opt_loading', 'cut_option_files_of_ours'),
    'parlai.core.loader': ('unknown_teachers_of_our_tasks',),
    'parlai.core.agents': ('missing_model_files_of_ours',),
    'parlai.nn.lr_scheduler': ('reduce_on_plateau_without_verbose',),
    'parlai.utils.distributed': ('distributed_on_cpu',),
    'parlai.utils.fsdp': ('join_on_cpu',),
    'parlai.scripts.multiprocessing_train': ('build_dict_before_spawning',),
    # global_batch after the seeding: its TrainLoop.__init__ wraps the seeded one
    'parlai.scripts.train_model': (
        'seed_before_building_the_agent', 'global_batch', 'final_reports_to_tensorboard',
        'base_models_of_our_presets',
    ),
    'parlai.scripts.eval_model': ('seed_evaluation',),
    'parlai.core.torch_agent': ('safe_checkpoint_loading',),
    'parlai.scripts.vacuum': ('safe_vacuum_loading',),
    'parlai.core.params': ('check_options_after_parsing', 'underscores_in_option_names_only'),
    'parlai.scripts.build_dict': ('dictionary_without_multitask_weights',),
    'parlai.agents.hugging_face.dict': ('quiet_hugging_face_noise',),
}


def aliased(kind):
    """
    The plugin's names of ``kind`` (``tasks``, ``agents``, ``zoo``) as ParlAI takes them (``-t``,
    ``-m``, ``zoo:``), in the order of :data:`ALIASES`.
    """
    return [alias.split('.')[2] for alias in ALIASES if alias.split('.')[1] == kind]


def _aliased_name(fullname):
    """
    Our module name for ``fullname``, for an alias or any submodule of one, else None.
    """
    for parlai_name, our_name in ALIASES.items():
        if fullname == parlai_name or fullname.startswith(parlai_name + '.'):
            return our_name + fullname[len(parlai_name) :]
    return None


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target):
        self.target = target
        self.target_spec = None

    def create_module(self, spec):
        module = importlib.import_module(self.target)
        self.target_spec = module.__spec__
        return module

    def exec_module(self, module):
        # The target module was fully executed by import_module in create_module. The import
        # system has just set its __spec__ to the alias's: give it back its own, so reload(),
        # pickling and tools that read __spec__ see the module where it really is.
        module.__spec__ = self.target_spec


class _FixingLoader(importlib.abc.Loader):
    #: how a second copy of this finder (another installation, a reloaded module) sees that the
    #: fixes are already on the way, so they are never applied twice
    applies_parlai_prosocial_fixes = True

    def __init__(self, loader, fix_names):
        self.loader = loader
        self.fix_names = fix_names

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        _apply_fixes(self.fix_names, module)


def _apply_fixes(fix_names, module):
    from parlai_prosocial.parlai_internals import apply_fix

    for fix_name in fix_names:
        apply_fix(fix_name, module)


class PluginFinder(importlib.abc.MetaPathFinder):
    def __init__(self):
        # names this finder is resolving right now, per thread: another finder that, like this
        # one, asks the rest of sys.meta_path (a second plugin, a copy of this finder) must not
        # send the same question back here forever
        self._resolving = threading.local()

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith('parlai.'):
            return None
        busy = self._resolving.__dict__.setdefault('names', set())
        if fullname in busy:
            return None
        busy.add(fullname)
        try:
            return self._find_spec(fullname, path, target)
        finally:
            busy.discard(fullname)

    def _find_spec(self, fullname, path, target):
        our_name = _aliased_name(fullname)
        if our_name is not None:
            our_spec = importlib.util.find_spec(our_name)
            if our_spec is None:
                return None
            return importlib.util.spec_from_loader(
                fullname,
                _AliasLoader(our_name),
                is_package=our_spec.submodule_search_locations is not None,
            )
        if fullname in FIXES:
            spec = self._spec_from_other_finders(fullname, path, target)
            if spec is not None and spec.loader is not None:
                if not getattr(spec.loader, 'applies_parlai_prosocial_fixes', False):
                    spec.loader = _FixingLoader(spec.loader, FIXES[fullname])
            return spec
        return None

    def _spec_from_other_finders(self, fullname, path, target):
        for finder in list(sys.meta_path):
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                return spec
        return None


def install():
    """
    Put the finder first on ``sys.meta_path``; calling it again does nothing.
    """
    if not any(isinstance(f, PluginFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, PluginFinder())
    for name, fix_names in FIXES.items():
        if name in sys.modules:
            # only possible when the hook is installed by hand after ParlAI was imported
            _apply_fixes(fix_names, sys.modules[name])


#: (category, message start, module that the warning is attributed to): warnings that every run
#: of the pinned set prints (docs/dependencies.md) and that a user can do nothing about. Each
#: filter is scoped to its exact message and module, and appended, so a user's own ``-W`` or
#: ``PYTHONWARNINGS`` setting still wins.
KNOWN_NOISE = [
    # ParlAI 1.7.2 imports pkg_resources; setuptools is pinned below 81 for it
    ('UserWarning', 'pkg_resources is deprecated', r'parlai\.core\.opt'),
    # ParlAI's nice_report (every log line of training) calls pandas' DataFrame.stack()
    ('FutureWarning', 'The previous implementation of stack is deprecated', r'parlai\.utils\.misc'),
    # ParlAI's DDP call passes broadcast_buffers=False, which torch says to keep using for now;
    # on CPU it goes through our DistributedDataParallel subclass (parlai_fixes), once per worker
    ('FutureWarning', '`broadcast_buffers` is deprecated', r'parlai_prosocial\.parlai_fixes'),
    # transformers 4.35 (the newest ParlAI's pins allow) on torch 2.13
    ('FutureWarning', '`torch.utils._pytree._register_pytree_node` is deprecated', r'transformers\.'),
    # ParlAI's T5 agent passes beam and sampling settings to every generate() call, greedy too,
    # so transformers warns in the middle of `parlai interactive`
    ('UserWarning', '`num_beams` is set to 1. However,', r'transformers\.generation\.'),
    ('UserWarning', '`do_sample` is set to `False`. However,', r'transformers\.generation\.'),
]


def quiet_known_noise():
    import warnings

    for category, message, module in KNOWN_NOISE:
        warnings.filterwarnings(
            'ignore',
            message=re.escape(message),
            category=getattr(builtins, category),
            module=module,
            append=True,
        )


#: (logger, message start): what transformers *logs* (not warns) on every T5 run, and why it is
#: noise there (:func:`parlai_prosocial.parlai_fixes.quiet_hugging_face_noise`). Filtered on that
#: logger alone, once ParlAI's Hugging Face dictionaries are imported (logging is not imported at
#: start-up for it); ``TRANSFORMERS_VERBOSITY`` set keeps them.
KNOWN_LOG_NOISE = [
    # ParlAI tokenizes a whole text, then truncates it to --text-truncate
    ('transformers.tokenization_utils_base', 'Token indices sequence length is longer than the '
     'specified maximum sequence length for this model'),
    # Canary's label tokens, added to T5's tokenizer, whose embeddings it trains
    ('transformers.tokenization_utils_base', 'Special tokens have been added in the vocabulary, '
     'make sure the associated word embeddings are fine-tuned or trained.'),
]


def quiet_known_log_noise():
    import logging
    import os

    if os.environ.get('TRANSFORMERS_VERBOSITY'):
        return
    for name, message in KNOWN_LOG_NOISE:
        logger = logging.getLogger(name)
        if not any(getattr(f, 'parlai_prosocial_noise', None) == message for f in logger.filters):
            logger.addFilter(_KnownLogMessage(message))


class _KnownLogMessage:
    def __init__(self, message):
        self.parlai_prosocial_noise = message

    def filter(self, record):
        return not record.getMessage().startswith(self.parlai_prosocial_noise)


def start():
    """
    What ``parlai_prosocial.pth`` runs at interpreter start-up.
    """
    quiet_known_noise()
    install()
