"""
N training workers take the step one worker takes (issue 25), and a distributed evaluation counts
each example once.

``--global-batchsize G`` (:mod:`parlai_prosocial.global_batch`) gives N workers G / N examples each
per step. Two things still differed from one process with ``--batchsize G``:

* **The examples.** Each ParlAI worker draws its own episodes (``FixedDialogTeacher`` with
  ``random.randrange``, ``MultiWorld`` a task per batch slot with ``random.choices``), so the N
  workers' examples were not the one worker's. Here every worker makes the one worker's draws for
  the whole global batch, every one of its slots, and trains on its own slots only (worker r: slots
  ``r*G/N .. (r+1)*G/N - 1``): :class:`parlai_prosocial.global_batch_world.GlobalBatchWorld`. The
  draws come from a stream of their own (``global_batch_world.DataStream``), seeded with
  ``--seed`` and drawn from by no model code, so every worker makes the same draws whatever its
  model does (dropout and sampling stay per worker, seeded with ``--seed`` + rank).
* **The gradient.** ParlAI's generators average the loss over the target tokens of each worker's
  batch and DDP then averages the workers' gradients: a mean of means, which reweights tokens
  whenever the workers' target lengths differ. Here the loss is normalised by the token count of
  the whole global batch, summed over the workers (fairseq's rule):
  :func:`normalise_over_the_update`.

``--update-freq K`` (gradient accumulation) gets the same treatment: an update is one global batch
of K x G examples, drawn as one and split into K micro-batches of G (G / N per worker), and its
gradient is normalised by the tokens of all K x G. The update of ``--update-freq K
--global-batchsize G`` is then the update of ``--global-batchsize K*G`` (ParlAI's own
accumulation averages the K micro-batches' means instead).

All of it only in a training run of ours with ``--global-batchsize`` in effect and N > 1 or
K > 1: one process without ``--update-freq`` is ParlAI's own run, the reference. What holds
exactly and what in expectation: docs/reproducibility.md. Nothing here imports ParlAI at the top:
the fix on ``parlai.core.teachers`` imports this module while ``parlai.core.worlds`` may still be
importing.
"""

import contextlib
import copy
import random

#: the opt key that gives a teacher of an evaluation world this worker's share of the episodes,
#: ``(rank, number of workers)`` (:func:`shard_evaluation_of`)
EVALUATION_SHARD = 'parlai_prosocial_evaluation_shard'


# --- when ---------------------------------------------------------------------------------------


class GlobalBatchPlan:
    """
    How one training worker takes part in a global batch: ``workers`` (N), ``rank``,
    ``global_batch`` (G), ``update_freq`` (K), ``per_worker`` (G / N, its ``--batchsize``),
    ``slots`` (K x G, the examples of one update, drawn together) and ``seed`` (of the draws).
    """

    def __init__(self, workers, rank, global_batch, update_freq, seed):
        self.workers, self.rank = workers, rank
        self.global_batch, self.update_freq = global_batch, update_freq
        self.per_worker = global_batch // workers
        self.slots = global_batch * update_freq
        self.seed = seed

    def slots_of(self, micro_batch):
        """
        The slots this worker trains on in micro-batch ``micro_batch`` (0 .. K - 1) of an update.
        """
        first = micro_batch * self.global_batch + self.rank * self.per_worker
        return range(first, first + self.per_worker)

    def __repr__(self):
        return (f'GlobalBatchPlan(workers={self.workers}, rank={self.rank}, '
                f'global_batch={self.global_batch}, update_freq={self.update_freq})')


def global_batch_plan(opt):
    """
    The :class:`GlobalBatchPlan` of a training world built with ``opt`` (one worker's options) in
    this process, or None where ParlAI's batching stays: not training, ``--global-batchsize`` not
    in effect (-1, or a ``--batchsize`` given apart from it), one worker without
    ``--update-freq``, ParlAI's dynamic batching or background preprocessing (``--num-workers``),
    or a run that names nothing of ours.
    """
    from parlai.utils.data import DatatypeHelper
    from parlai.utils.distributed import get_rank, num_workers

    from parlai_prosocial.our_names import is_our_run

    global_batch = opt.get('global_batchsize') or -1
    workers = num_workers()
    update_freq = max(1, opt.get('update_freq') or 1)
    if (
        global_batch <= 0
        or not DatatypeHelper.is_training(opt.get('datatype') or '')
        or (opt.get('batchsize') or 1) * workers != global_batch
        or (workers == 1 and update_freq == 1)
        or opt.get('dynamic_batching')
        or (opt.get('num_workers') or 0) > 0
        or not is_our_run(opt)
    ):
        return None
    return GlobalBatchPlan(workers, get_rank(), global_batch, update_freq, data_seed(opt))


def data_seed(opt):
    """
    The seed of the draws: ``--seed``; without one, a seed drawn by the first worker and given to
    the others (their draws must be the same).
    """
    from parlai.utils.distributed import sync_object

    if opt.get('seed') is not None:
        return opt['seed']
    return sync_object(random.SystemRandom().randrange(2**31))


# --- the examples -------------------------------------------------------------------------------


def global_batch_world(parlai_create_task, opt, user_agents, plan, default_world=None):
    """
    The training world of one worker under ``plan``: the world one process builds, its teachers
    reading the data as one process does (``--distributed-world-size 1``, rank 0: a streamed
    teacher such as SODA's gives every worker the whole stream), batched into ``plan.slots`` slots
    of which this worker trains on its own. Its model agent normalises over the update.
    """
    from parlai_prosocial.global_batch_world import GlobalBatchWorld

    data_opt = copy.deepcopy(opt)
    data_opt.update(batchsize=1, distributed_world_size=1, rank=0)
    world = parlai_create_task(data_opt, user_agents, default_world=default_world)
    normalise_over_the_update(user_agents[0] if isinstance(user_agents, list) else user_agents,
                              plan)
    data_opt['batchsize'] = plan.slots
    return GlobalBatchWorld(opt, data_opt, world, plan)


@contextlib.contextmanager
def read_as_one_process(opt):
    """
    For a teacher of ours that reads another teacher's whole split (``casual_safety``): that
    teacher's options and ParlAI's ``DialogData`` as in one process, so that every distributed
    worker reads all of it (ParlAI's ``DialogData`` keeps every N-th episode in evaluation, and
    ``train:evalmode``), and the reading teacher's own split is the only one. Yields the options.
    """
    import parlai.core.teachers as teachers_module

    opt = copy.deepcopy(opt)
    opt.pop(EVALUATION_SHARD, None)
    opt.update(distributed_world_size=1, rank=0)
    distributed = teachers_module.is_distributed
    teachers_module.is_distributed = lambda: False
    try:
        yield opt
    finally:
        teachers_module.is_distributed = distributed


# --- the gradient -------------------------------------------------------------------------------


def _loss_is_a_mean_over(agent):
    """
    What ``agent``'s training loss is a mean over: ``'tokens'`` for a generator (ParlAI's
    ``TorchGeneratorAgent.compute_loss`` divides by the batch's target tokens), ``'examples'`` for
    a classifier, None for another kind of agent.
    """
    from parlai.core.torch_classifier_agent import TorchClassifierAgent
    from parlai.core.torch_generator_agent import TorchGeneratorAgent

    if isinstance(agent, TorchGeneratorAgent):
        return 'tokens'
    if isinstance(agent, TorchClassifierAgent):
        return 'examples'
    return None


def _count(agent, kind, batch):
    if kind == 'tokens':
        return 0 if batch.label_vec is None else int(batch.label_vec.ne(agent.NULL_IDX).sum())
    return 0 if batch.text_vec is None else int(batch.batchsize)


def normalise_over_the_update(agent, plan):
    """
    Make ``agent`` (a training worker's model agent) normalise its loss over the whole update: the
    target tokens (a classifier: the examples) of all K micro-batches of all N workers, so that the
    gradient that DDP averages is the one-process gradient of the same examples.

    Each micro-batch's mean loss is turned back into its sum (times the mean's count) over the
    worker's batch size, a constant, so fp16's loss scaler sees magnitudes like ParlAI's; ParlAI
    and DDP accumulate and average as they do. At the update the counts are summed over the
    workers (an all-reduce of one number) and the gradients multiplied so that they are the sum
    over every token of the update divided by their number, before ParlAI's clipping and step.
    Wraps this agent's ``train_step``, ``backward`` and ``update_params`` (not its class). Returns
    whether it applies: an agent whose loss is neither a generator's nor a classifier's keeps
    ParlAI's mean (said in the log).
    """
    import types

    import torch
    from parlai.utils import logging
    from parlai.utils.distributed import is_distributed

    kind = _loss_is_a_mean_over(agent)
    if kind is None:
        logging.warning(
            f'--global-batchsize: {type(agent).__name__} is neither a generator nor a classifier; '
            'its loss keeps ParlAI\'s mean over each worker\'s batch'
        )
        return False
    parlai_train_step, parlai_backward = agent.train_step, agent.backward
    parlai_update_params = agent.update_params
    counts = {'batch': 0, 'update': 0}

    def train_step(self, batch):
        counts['batch'] = _count(self, kind, batch)
        return parlai_train_step(batch)

    def backward(self, loss, **kwargs):
        counts['update'] += counts['batch']
        # the batch's sum over the worker's batch size (ParlAI's backward then divides by K)
        return parlai_backward(loss * (counts['batch'] / plan.per_worker), **kwargs)

    def update_params(self):
        if plan.update_freq == 1 or self._number_grad_accum == 0:  # an update (ParlAI's test)
            total = torch.tensor(float(counts['update']))
            if is_distributed():
                torch.distributed.all_reduce(total)
            counts['update'] = 0
            if total > 0:
                # DDP averaged the N workers' sums over K x G/N each: times K G / total
                _multiply_gradients(self, plan.slots / float(total))
        return parlai_update_params()

    agent.train_step = types.MethodType(train_step, agent)
    agent.backward = types.MethodType(backward, agent)
    agent.update_params = types.MethodType(update_params, agent)
    return True


def _multiply_gradients(agent, factor):
    if agent.fp16:
        agent.optimizer.multiply_grads(factor)  # ParlAI's fp16 optimizers hold scaled gradients
        return
    for parameter in agent.model.parameters():
        if parameter.grad is not None:
            parameter.grad.mul_(factor)


# --- evaluation: each example once --------------------------------------------------------------


def shard_evaluation_of(opt):
    """
    The options of an evaluation world in a distributed run of ours, with this worker's share
    ``(rank, N)`` (:data:`EVALUATION_SHARD`) for the teachers that do not split evaluation
    themselves; ``opt`` itself otherwise.
    """
    from parlai.utils.distributed import get_rank, is_distributed, num_workers

    from parlai_prosocial.our_names import is_our_run

    datatype = opt.get('datatype') or ''
    evaluating = any(kind in datatype for kind in ('valid', 'test', 'train:evalmode'))
    if not (evaluating and is_distributed() and is_our_run(opt)):
        return opt
    opt = copy.copy(opt)
    opt[EVALUATION_SHARD] = (get_rank(), num_workers())
    return opt


def splits_evaluation_itself(teacher):
    """
    Whether a teacher gives each distributed worker its share of the evaluation data itself:
    ParlAI's ``DialogTeacher`` (its ``DialogData`` keeps episode i on worker i mod N) and
    ``ChunkTeacher``, and every teacher of ours. ParlAI's other ``FixedDialogTeacher`` s
    (DailyDialog's, BlendedSkillTalk's ``ParlAIDialogTeacher``) give every worker everything.
    """
    from parlai.core.teachers import ChunkTeacher, DialogTeacher

    return isinstance(teacher, (DialogTeacher, ChunkTeacher)) or type(
        teacher
    ).__module__.startswith('parlai_prosocial.')


def sharded_next_episode_idx(parlai_next_episode_idx):
    """
    ``FixedDialogTeacher.next_episode_idx`` for a teacher of an evaluation world that was given a
    share ``(rank, N)`` and does not split evaluation itself: the k-th episode this worker takes
    is episode ``rank + k N``, the split ``DialogData`` makes. (ParlAI's end-of-epoch test,
    ``episode_idx + batchsize >= num_episodes()``, is then met later than on a dense index, never
    earlier: the batch runs on padding until every slot is done, and no episode is left out.)
    """

    def next_episode_idx(self, num_eps=None, loop=None):
        shard = self.opt.get(EVALUATION_SHARD)
        looping = self.training if loop is None else loop
        if not shard or self.random or looping or splits_evaluation_itself(self):
            return parlai_next_episode_idx(self, num_eps, loop)
        rank, workers = shard
        return rank + workers * parlai_next_episode_idx(self, num_eps, loop)

    next_episode_idx.__doc__ = parlai_next_episode_idx.__doc__
    return next_episode_idx
