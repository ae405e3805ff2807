"""
Repeatable runs: ``train_model --seed`` (a ParlAI bug: every run) and evaluation (our runs).
"""

from parlai_prosocial.seeding import EVAL_SEED, seed_everything


def seed_before_building_the_agent(train_model_module):
    """
    ``parlai.scripts.train_model``: ``--seed`` seeds everything, the model's initialisation too.

    A ParlAI bug, so every run: with stock ParlAI 1.7.2, ``--seed`` does not make a run from
    scratch repeatable (two stock runs with the same seed differ). Replaces its ``set_seed`` in
    ``parlai/scripts/train_model.py`` (``random.seed`` and ``torch.manual_seed`` only; numpy's
    generator, which teachers and agents draw from too, stayed unseeded) and wraps
    ``TrainLoop.__init__``: ParlAI seeds in ``TrainModel.run`` only *after* ``TrainLoop(opt)`` has
    built the agent, so the initial weights (and anything drawn while the dictionary, agent and
    world are built) were unseeded, and ``multiprocessing_train`` / ``distributed_train``
    workers, which create ``TrainLoop`` themselves, never seeded at all.

    With ``--seed S`` we now seed with ``S`` before ParlAI's ``TrainLoop.__init__`` (every
    distributed worker builds the same initial model), and with ``S + rank`` after it (data
    order, mixture sampling, dropout; rank 0 is what ``TrainModel.run`` then seeds again, so a
    single-process run follows ParlAI's own post-build seeding, and distributed workers draw
    different examples; in a run of ours under a global batch the data draws have a stream of
    their own, seeded with ``S`` on every worker: ``parlai_prosocial.exact_workers``). Without
    ``--seed`` (ParlAI's default) nothing changes.
    """
    from parlai.utils.distributed import get_rank

    parlai_init = train_model_module.TrainLoop.__init__

    def __init__(self, opt):
        seed = opt.get('seed')
        if seed is not None:
            seed_everything(seed)
        parlai_init(self, opt)
        if seed is not None:
            seed_everything(seed + get_rank())

    __init__.__doc__ = parlai_init.__doc__
    train_model_module.TrainLoop.__init__ = __init__
    train_model_module.set_seed = seed_everything


def seed_evaluation(eval_model_module):
    """
    ``parlai.scripts.eval_model``: an evaluation of ours seeds numpy and torch too, not only
    ``random``.

    Wraps ParlAI 1.7.2's ``eval_model(opt)`` (``parlai/scripts/eval_model.py``), which starts with
    ``random.seed(42)``: a run of ours seeds ``random``, numpy and torch with that seed first, so
    sampled decoding (``--inference topk/nucleus/...``, drawn by torch) gives the same replies on
    every run. Other runs are ParlAI's.
    """
    from parlai_prosocial.our_names import is_our_run

    parlai_eval_model = eval_model_module.eval_model

    def eval_model(opt):
        if is_our_run(opt):
            seed_everything(EVAL_SEED)
        return parlai_eval_model(opt)

    eval_model.__doc__ = parlai_eval_model.__doc__
    eval_model_module.eval_model = eval_model
