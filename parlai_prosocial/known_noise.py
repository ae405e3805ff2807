"""
Warnings and log messages that the pinned set of packages (docs/dependencies.md) prints and that a
user can do nothing about, each filtered exactly: that message, from that module or logger.

* :data:`START_UP_NOISE`: warnings raised while a module is *imported*, before any command line is
  parsed, so they cannot be scoped to a run of ours: filtered at interpreter start-up (the
  ``.pth`` hook) in every process, as the environment's own. They are about versions that our
  lock file pins (``requirements/lock.txt``), not about anything a ParlAI run does.
* :data:`RUN_NOISE` and :data:`KNOWN_LOG_NOISE`: raised while a run works; filtered only while a
  run of ours runs (:func:`run_noise_quieted`: the fix ``run_noise_of_our_runs`` and our CPU
  distributed workers), so a run that names nothing of ours, before or after one of ours in the
  same process, prints what stock ParlAI prints.

The filters are appended, so a user's own ``-W`` or ``PYTHONWARNINGS`` setting still wins;
``TRANSFORMERS_VERBOSITY`` set (to anything) keeps every message of transformers' loggers.
Nothing here imports ParlAI, torch or ``logging`` at module level.
"""

import builtins
import contextlib
import re

#: (category, message start, module that the warning is attributed to)
START_UP_NOISE = [
    # ParlAI 1.7.2 imports pkg_resources; setuptools is pinned below 81 for it
    ('UserWarning', 'pkg_resources is deprecated', r'parlai\.core\.opt'),
    # transformers 4.35 (the newest ParlAI's pins allow) on torch 2.13, on import
    ('FutureWarning', '`torch.utils._pytree._register_pytree_node` is deprecated',
     r'transformers\.'),
]

RUN_NOISE = [
    # ParlAI's nice_report (every log line of training) calls pandas' DataFrame.stack()
    ('FutureWarning', 'The previous implementation of stack is deprecated', r'parlai\.utils\.misc'),
    # ParlAI's DDP call passes broadcast_buffers=False, which torch says to keep using for now;
    # on CPU it goes through our DistributedDataParallel subclass, once per worker
    ('FutureWarning', '`broadcast_buffers` is deprecated',
     r'parlai_prosocial\.parlai_fixes\.cpu_distributed'),
    # ParlAI's T5 agent passes beam and sampling settings to every generate() call, greedy too,
    # so transformers warns in the middle of `parlai interactive`
    ('UserWarning', '`num_beams` is set to 1. However,', r'transformers\.generation\.'),
    ('UserWarning', '`do_sample` is set to `False`. However,', r'transformers\.generation\.'),
]

#: (logger, message start): what transformers *logs* (not warns) on every T5 run, and why it is
#: noise there
KNOWN_LOG_NOISE = [
    # ParlAI tokenizes a whole text, then truncates it to --text-truncate: the sequence it talks
    # about is not what the model sees
    ('transformers.tokenization_utils_base', 'Token indices sequence length is longer than the '
     'specified maximum sequence length for this model'),
    # Canary's label tokens, added to T5's tokenizer, whose embeddings it trains: advice followed
    ('transformers.tokenization_utils_base', 'Special tokens have been added in the vocabulary, '
     'make sure the associated word embeddings are fine-tuned or trained.'),
]


def quiet_warnings(noise):
    import warnings

    for category, message, module in noise:
        warnings.filterwarnings(
            'ignore',
            message=re.escape(message),
            category=getattr(builtins, category),
            module=module,
            append=True,
        )


def quiet_start_up_noise():
    quiet_warnings(START_UP_NOISE)


@contextlib.contextmanager
def run_noise_quieted():
    """
    :data:`RUN_NOISE` and :data:`KNOWN_LOG_NOISE` filtered for the block (a run of ours), and
    the process's filters as they were after it.
    """
    import warnings

    with warnings.catch_warnings():
        quiet_warnings(RUN_NOISE)
        added = quiet_known_log_noise()
        try:
            yield
        finally:
            for logger, log_filter in added:
                logger.removeFilter(log_filter)


def quiet_known_log_noise():
    """
    Filter :data:`KNOWN_LOG_NOISE` on its loggers (once: a filter already there is not added
    again); returns ``[(logger, filter)]`` added.
    """
    import logging
    import os

    if os.environ.get('TRANSFORMERS_VERBOSITY'):
        return []
    added = []
    for name, message in KNOWN_LOG_NOISE:
        logger = logging.getLogger(name)
        if not any(getattr(f, 'parlai_prosocial_noise', None) == message for f in logger.filters):
            added.append((logger, _KnownLogMessage(message)))
            logger.addFilter(added[-1][1])
    return added


class _KnownLogMessage:
    def __init__(self, message):
        self.parlai_prosocial_noise = message

    def filter(self, record):
        return not record.getMessage().startswith(self.parlai_prosocial_noise)
