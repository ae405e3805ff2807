"""
Checks of ParlAI's own options that this plugin adds where ParlAI parses them
(:func:`parlai_prosocial.parlai_fixes.check_options_after_parsing`).
"""

from parlai_prosocial.errors import ProsocialOptionError


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
