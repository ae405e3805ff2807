"""
Make the stock ``parlai`` command see this plugin.

ParlAI resolves ``-t NAME`` to ``parlai.tasks.NAME``, ``-m NAME`` to ``parlai.agents.NAME``,
``zoo:NAME/...`` to ``parlai.zoo.NAME`` and ``-o NAME`` to files inside the ``parlai`` package; it
reads no entry points. The ``parlai_prosocial.pth`` file installed next to this package calls
:func:`start` at interpreter start-up (so also in the workers that ``multiprocessing_train``
spawns), which puts one import finder in front of ``sys.meta_path``. The finder

* aliases our names (:data:`parlai_prosocial.our_names.ALIASES`: ``parlai.tasks.prosocial`` ->
  ``parlai_prosocial.tasks.prosocial``) to the very same module objects, so a class has one
  identity whichever name imported it;
* applies the fixes of the registry :mod:`parlai_prosocial.parlai_fixes` right after ParlAI
  imports the module they fix, so they cost nothing to processes that never import ParlAI.

``PARLAI_PROSOCIAL_OFF=1`` (or true / yes) in the environment switches the plugin off for that
process: no finder, no fix, no warning filter; it is then as if the plugin were not installed.

Nothing here imports ParlAI or torch: this runs in every Python process of the environment.
"""

import importlib
import importlib.abc
import importlib.util
import os
import sys
import threading

from parlai_prosocial.our_names import ALIASES

#: set to 1 (or true / yes) to switch the plugin off for a process (its environment)
OFF_ENV = 'PARLAI_PROSOCIAL_OFF'


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

    def __init__(self, loader, fixes):
        self.loader = loader
        self.fixes = fixes

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        _apply_fixes(self.fixes, module)


def _apply_fixes(fixes, module):
    from parlai_prosocial.parlai_fixes import apply_fix

    for fix in fixes:
        apply_fix(fix, module)


class PluginFinder(importlib.abc.MetaPathFinder):
    def __init__(self):
        from parlai_prosocial.parlai_fixes import fixes_by_module

        self.fixes = fixes_by_module()
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
        if fullname in self.fixes:
            spec = self._spec_from_other_finders(fullname, path, target)
            if spec is not None and spec.loader is not None:
                if not getattr(spec.loader, 'applies_parlai_prosocial_fixes', False):
                    spec.loader = _FixingLoader(spec.loader, self.fixes[fullname])
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
    Put the finder first on ``sys.meta_path``; calling it again does nothing (the fixes of the
    ParlAI modules imported by then are applied once, not wrapped again).
    """
    if any(isinstance(f, PluginFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, PluginFinder())
    from parlai_prosocial.parlai_fixes import fixes_by_module

    for name, fixes in fixes_by_module().items():
        if name in sys.modules:
            # only possible when the hook is installed by hand after ParlAI was imported
            _apply_fixes(fixes, sys.modules[name])


def switched_off(environ=None):
    value = (os.environ if environ is None else environ).get(OFF_ENV, '')
    return value.strip().lower() in ('1', 'true', 'yes')


def start():
    """
    What ``parlai_prosocial.pth`` runs at interpreter start-up (nothing under ``OFF_ENV``).
    """
    if switched_off():
        return
    from parlai_prosocial.known_noise import quiet_start_up_noise

    quiet_start_up_noise()
    install()
