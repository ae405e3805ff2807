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
        type=checked_global_batchsize,
        default=-1,
        help='the batch size of one training step over all distributed workers: each takes '
        'this / number of workers as its --batchsize (unless a --batchsize other than this is '
        'given apart, which keeps ParlAI\'s per-worker meaning); -1: ParlAI\'s per-worker '
        '--batchsize',
    )


def checked_global_batchsize(value):
    """
    ``--global-batchsize`` as a number: positive, or -1 (off); anything else is one line. (Also
    the option's argparse type: a ``ProsocialOptionError`` is no ``ValueError``, so argparse lets
    it through as it is instead of printing ParlAI's whole ``--help``.)
    """
    from parlai_prosocial.errors import ProsocialOptionError

    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number == 0 or number < -1:
        raise ProsocialOptionError(
            f'--global-batchsize {value}: expected the number of examples of one training step '
            'over all workers (a positive number), or -1 for ParlAI\'s per-worker --batchsize'
        )
    return number


def _given_apart(opt, key):
    """
    Whether ``opt[key]`` was given to the run (command line, ``Script.main``) rather than by its
    ``-o`` preset or ParlAI's default: ParlAI's ``override`` holds both of the former.
    """
    override = opt.get('override') or {}
    if key not in override:
        return False
    preset = {}
    if opt.get('init_opt'):
        try:
            from parlai.core.opt import Opt

            preset = Opt.load_init(opt['init_opt'])
        except Exception:  # noqa: BLE001 - (ParlAI said what is wrong with it when it parsed)
            pass
    return key not in preset or preset[key] != override[key]


def per_worker_batchsize(opt, world_size):
    """
    ``opt`` for one of ``world_size`` training workers under ``--global-batchsize G``: its
    ``--batchsize`` becomes ``G / world_size``, so a step over all workers takes G examples, as
    one process with ``--batchsize G`` does; also when the ``--batchsize`` is a preset's other
    value (``-o prosocial/tiny_prost --global-batchsize 8``: 8 per step). Unchanged (ParlAI's
    per-worker ``--batchsize``) when G is -1 (the default) or absent, or when a ``--batchsize``
    other than G was given apart (a warning says G is not used). A G that the workers cannot
    share evenly, 0 or below -1 is refused with one line.
    """
    import copy

    given = opt.get('global_batchsize')
    global_batchsize = checked_global_batchsize(-1 if given is None else given)
    if global_batchsize == -1:
        return opt
    from parlai.utils import logging
    from parlai.utils.distributed import is_primary_worker

    from parlai_prosocial.errors import ProsocialOptionError

    if opt.get('batchsize') != global_batchsize and _given_apart(opt, 'batchsize'):
        if is_primary_worker():
            logging.warning(
                f'--batchsize {opt.get("batchsize")} per worker, ParlAI\'s meaning: given apart '
                f'from --global-batchsize {global_batchsize}, which is therefore not used (give '
                '--global-batchsize -1 to mean it, or only --global-batchsize for a global batch)'
            )
        return opt
    if global_batchsize % world_size:
        raise ProsocialOptionError(
            f'--global-batchsize {global_batchsize} cannot be shared evenly by {world_size} '
            f'workers; give a multiple of {world_size}, or --global-batchsize -1 --batchsize N '
            'for ParlAI\'s N per worker'
        )
    if opt.get('batchsize') == global_batchsize // world_size:
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
