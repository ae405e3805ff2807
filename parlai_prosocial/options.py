"""
Checks of ParlAI's own options that a run of ours gets once ParlAI has parsed them (the fix
``options_of_our_runs``, :mod:`parlai_prosocial.parlai_fixes.our_runs`), and the one value they
resolve: the tiny offline T5 of the ``tiny_*`` presets.
"""

import math
import os

from parlai_prosocial.errors import ProsocialOptionError

from parlai_prosocial.our_names import TINY_T5

#: ``--t5-model-arch TINY_T5`` is the tiny random T5 of :mod:`parlai_prosocial.agents.canary.tiny`
#: (the ``tiny_canary`` and ``tiny_cosmo`` presets), so those presets run offline as they are
TINY_T5_VERSION = 'tiny-t5 v1'


def resolve_tiny_t5(opt):
    """
    ``--t5-model-arch parlai_prosocial/tiny-t5`` becomes the directory of that tiny T5, built once
    per datapath into ``{datapath}/models/parlai_prosocial/tiny_t5`` (seeded, so always the same
    model; concurrent builds wait for each other). A demo and test model: random weights.
    """
    if opt.get('t5_model_arch') != TINY_T5:
        return
    from parlai_prosocial.agents.canary.tiny import build_tiny_t5
    from parlai_prosocial.download import build_once

    directory = os.path.join(opt['datapath'], 'models', 'parlai_prosocial', 'tiny_t5')
    build_once(directory, TINY_T5_VERSION, build_tiny_t5)
    opt['t5_model_arch'] = directory
    if opt.get('override', {}).get('t5_model_arch') == TINY_T5:
        opt['override']['t5_model_arch'] = directory


def check_multitask_weights(opt):
    """
    ``--multitask-weights`` must be ``stochastic`` or one number per task of ``--task``, each
    >= 0, not all 0. ParlAI 1.7.2 takes a missing weight as 1, ignores extra ones, and gives a
    negative weight a cumulative probability that silently drops a task (``MultiTaskTeacher``,
    ``MultiWorld``). The default ``[1]`` (the option not given) stands for equal weights.
    """
    weights = opt.get('multitask_weights')
    if weights is None or weights == 'stochastic' or list(weights) == [1]:
        return
    tasks = [t.strip() for t in (opt.get('task') or '').split(',') if t.strip()]
    given = ','.join(f'{w:g}' for w in weights)
    if len(weights) != len(tasks):
        raise ProsocialOptionError(
            f'--multitask-weights {given}: {len(weights)} weights for {len(tasks)} tasks '
            f'({",".join(tasks)}); expected one weight per task, or "stochastic"'
        )
    not_finite = [w for w in weights if not math.isfinite(w)]
    if not_finite:
        # nan passes every comparison below, and ParlAI's train_model crashes on it
        raise ProsocialOptionError(
            f'--multitask-weights {given}: {not_finite[0]:g} is not a finite number; expected every '
            'weight a finite number >= 0'
        )
    negative = [w for w in weights if w < 0]
    if negative:
        raise ProsocialOptionError(
            f'--multitask-weights {given}: a negative weight ({negative[0]:g}); expected every '
            'weight >= 0'
        )
    if not any(w > 0 for w in weights):
        raise ProsocialOptionError(
            f'--multitask-weights {given}: all weights are 0; expected at least one above 0'
        )
