"""
Our presets, ``-o prosocial/NAME``: where they are and their names.

They are the repository's top-level ``opt_presets/``, installed as ``parlai_prosocial.opt_presets``
(``setup.py``); ParlAI finds them through the fix ``find_our_opt_presets``
(:mod:`parlai_prosocial.parlai_fixes.presets`).
"""

import os

from parlai_prosocial.our_names import OUR_PRESETS


def our_opt_presets_dir():
    """
    Where our presets are: the installed ``parlai_prosocial.opt_presets``, located, not imported
    (presets are data).
    """
    import importlib.util

    return list(importlib.util.find_spec('parlai_prosocial.opt_presets').submodule_search_locations)[0]


def our_preset_names():
    """
    ``prosocial/NAME`` for every preset of ours, sorted.
    """
    folder = os.path.join(our_opt_presets_dir(), OUR_PRESETS)
    return sorted(f'{OUR_PRESETS}/{name[:-4]}' for name in os.listdir(folder)
                  if name.endswith('.opt'))


def unknown_preset(optfile):
    """
    The one line for ``-o prosocial/NAME`` with no such preset (nor file).
    """
    from parlai_prosocial.errors import UnknownPresetError

    return UnknownPresetError(
        f'-o {optfile}: no such preset (nor file); expected one of '
        f'{", ".join(our_preset_names())}'
    )
