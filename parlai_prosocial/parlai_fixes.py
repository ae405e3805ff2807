"""
Fixes applied to ParlAI 1.7.2 modules right after they are imported (see ``plugin_hook``).

ParlAI's repository is archived, so these cannot go upstream. Each fix takes the freshly imported
module and changes it in place; each has a test in ``tests/test_parlai_fixes.py``.
"""

import os

OUR_OPT_PRESETS = os.path.join(os.path.dirname(__file__), 'opt_presets')


def find_our_opt_presets(opt_module):
    """
    Let ``-o prosocial/NAME`` find ``parlai_prosocial/opt_presets/prosocial/NAME.opt``.

    ParlAI only looks for bundled presets inside the ``parlai`` package. Ours are looked up after
    all of ParlAI's places, so a user's or ParlAI's own preset of the same name still wins.
    """
    Opt = opt_module.Opt
    parlai_load_init = Opt.load_init.__func__

    def load_init(cls, optfile):
        try:
            return parlai_load_init(cls, optfile)
        except FileNotFoundError:
            ours = os.path.join(OUR_OPT_PRESETS, optfile + '.opt')
            if ',' in optfile or not os.path.isfile(ours):
                raise
            return cls.load(ours)

    Opt.load_init = classmethod(load_init)


def reduce_on_plateau_without_verbose(lr_scheduler_module):
    """
    ParlAI's default ``--lr-scheduler reduceonplateau`` passes ``verbose=True`` to torch's
    ``ReduceLROnPlateau``, which torch 2.x no longer accepts: every training run crashed.
    """
    scheduler_class = lr_scheduler_module.ReduceOnPlateauLRScheduler
    optim = lr_scheduler_module.optim

    def __init__(self, optimizer, patience, decay, warmup_updates, warmup_rate):
        lr_scheduler_module.ParlAILRScheduler.__init__(self, warmup_updates, warmup_rate)
        self.scheduler = optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, 'min', factor=decay, patience=patience
        )

    scheduler_class.__init__ = __init__
