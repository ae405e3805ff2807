"""
``--global-batchsize G``: the batch of one training step over all workers of
``multiprocessing_train`` / ``distributed_train`` (and of ``train_model``, one worker).

ParlAI's ``--batchsize`` is per worker, so a recipe's batch size was multiplied by the number of
GPUs. The papers' presets set both ``batchsize`` and ``global_batchsize`` to the paper's batch: one
process trains as before, N workers take G / N each. The option exists only in the training
parser of a run of ours (the fix ``global_batch``); a stock run's parser and ``--help`` never
show it.
"""


def add_global_batchsize(parser):
    """
    Add ``--global-batchsize`` to a training parser, once.
    """
    if '--global-batchsize' in parser._option_string_actions:
        return
    group = parser.add_argument_group('Global batch (parlai-prosocial)')
    group.add_argument(
        '--global-batchsize',
        type=int,
        default=-1,
        help='the batch size of one training step over all distributed workers: each takes '
        'this / number of workers as its --batchsize (used when --batchsize is this value '
        'too, as in the prosocial presets); -1: ParlAI\'s per-worker --batchsize',
    )


def per_worker_batchsize(opt, world_size):
    """
    ``opt`` for one of ``world_size`` training workers under ``--global-batchsize G``: its
    ``--batchsize`` becomes ``G / world_size``, so a step over all workers takes G examples, as
    one process with ``--batchsize G`` does. Unchanged (ParlAI's per-worker ``--batchsize``) when
    G is -1 (the default) or absent, or when ``--batchsize`` was given another value than G: a
    batch size given apart from the global one keeps ParlAI's meaning (said in the log). A G that
    the workers cannot share evenly is refused with one line.
    """
    import copy

    global_batchsize = opt.get('global_batchsize') or -1
    if global_batchsize <= 0:
        return opt
    from parlai.utils import logging

    from parlai_prosocial.errors import ProsocialOptionError

    if opt.get('batchsize') != global_batchsize:
        logging.info(
            f'--batchsize {opt.get("batchsize")} per worker (ParlAI\'s meaning: it differs from '
            f'--global-batchsize {global_batchsize}, which is not used)'
        )
        return opt
    if global_batchsize % world_size:
        raise ProsocialOptionError(
            f'--global-batchsize {global_batchsize} cannot be shared evenly by {world_size} '
            f'workers; give a multiple of {world_size}, or --global-batchsize -1 --batchsize N '
            'for ParlAI\'s N per worker'
        )
    if world_size == 1:
        return opt
    opt = copy.deepcopy(opt)
    opt['batchsize'] = global_batchsize // world_size
    # an agent loaded from an existing model file (resuming) takes its options from there,
    # except for the overrides
    opt.setdefault('override', {})['batchsize'] = opt['batchsize']
    logging.info(
        f'--global-batchsize {global_batchsize} over {world_size} workers: '
        f'--batchsize {opt["batchsize"]} per worker'
    )
    return opt
