"""
``--lr-scheduler reduceonplateau`` on torch 2.x (a ParlAI bug: every run).
"""


def reduce_on_plateau_without_verbose(lr_scheduler_module):
    """
    ``parlai.nn.lr_scheduler``: ParlAI's default ``--lr-scheduler reduceonplateau`` passes
    ``verbose=True`` to torch's ``ReduceLROnPlateau``, which torch 2.x no longer accepts: every
    training run with the default scheduler crashed.
    """
    scheduler_class = lr_scheduler_module.ReduceOnPlateauLRScheduler
    optim = lr_scheduler_module.optim

    def __init__(self, optimizer, patience, decay, warmup_updates, warmup_rate):
        lr_scheduler_module.ParlAILRScheduler.__init__(self, warmup_updates, warmup_rate)
        self.scheduler = optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, 'min', factor=decay, patience=patience
        )

    scheduler_class.__init__ = __init__
