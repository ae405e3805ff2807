"""
``--loglevel`` of a script run in a process that has logged before (a ParlAI bug: every run).
"""


def log_level_applies_at_once(logging_module):
    """
    ``parlai.utils.logging``: ``set_log_level`` (which every script calls with its
    ``--loglevel``) now takes effect for every level.

    ParlAI's logger is built directly (``ParlaiLogger(name='parlai')``), not by
    ``logging.getLogger``, so ``Logger.setLevel`` does not clear its cache of which levels are
    enabled (Python clears the caches of the manager's loggers only). A level the process had
    logged at before stayed as it was: ``TrainModel.main(..., loglevel='warn')`` after a run at
    ``info`` in the same process (a notebook, a test) still printed every INFO line.
    """
    parlai_set_log_level = logging_module.set_log_level

    def set_log_level(level):
        parlai_set_log_level(level)
        logging_module.logger._cache.clear()

    set_log_level.__doc__ = parlai_set_log_level.__doc__
    logging_module.set_log_level = set_log_level
