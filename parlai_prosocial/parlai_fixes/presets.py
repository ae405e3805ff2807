"""
``-o prosocial/NAME`` finds our presets (our runs only: ParlAI's own places are searched first,
and only a name they do not have reaches ours).
"""

import os

from parlai_prosocial.our_names import OUR_PRESETS
from parlai_prosocial.presets import our_opt_presets_dir, unknown_preset


def find_our_opt_presets(opt_module):
    """
    ``parlai.core.opt``: let ``-o prosocial/NAME`` find ``opt_presets/prosocial/NAME.opt``
    (``parlai_prosocial.opt_presets``).

    ParlAI only looks for bundled presets inside the ``parlai`` package. Ours are looked up after
    all of ParlAI's places, so a user's or ParlAI's own preset of the same name still wins; a name
    none of them has keeps ParlAI's ``FileNotFoundError``, or, under ``prosocial/``, is one line
    listing our presets.
    """
    Opt = opt_module.Opt
    parlai_load_init = Opt.load_init.__func__

    def load_init(cls, optfile):
        try:
            return parlai_load_init(cls, optfile)
        except FileNotFoundError:
            ours = os.path.join(our_opt_presets_dir(), optfile + '.opt')
            if ',' in optfile or not os.path.isfile(ours):
                if optfile.startswith(OUR_PRESETS + '/'):
                    raise unknown_preset(optfile) from None
                raise
            return cls.load(ours)

    load_init.__doc__ = parlai_load_init.__doc__
    Opt.load_init = classmethod(load_init)
