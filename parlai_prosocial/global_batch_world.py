"""
The training world of one worker under a global batch (:mod:`parlai_prosocial.exact_workers`).
"""

import contextlib
import random

from parlai.core.worlds import BatchWorld, validate


class DataStream:
    """
    Python's ``random`` and numpy's global generator as the teachers and worlds draw from them,
    kept apart from what the rest of the process draws: every worker then makes the same draws,
    whatever its model draws. They start as ``--seed`` leaves them, where one process's first
    training step starts (``train_model`` seeds just before it trains).
    """

    def __init__(self, seed):
        import numpy as np

        self.python = random.Random(seed).getstate()
        self.numpy = np.random.RandomState(seed % 2**32).get_state()

    @contextlib.contextmanager
    def drawing(self):
        import numpy as np

        others = random.getstate(), np.random.get_state()
        random.setstate(self.python)
        np.random.set_state(self.numpy)
        try:
            yield
        finally:
            self.python, self.numpy = random.getstate(), np.random.get_state()
            random.setstate(others[0])
            np.random.set_state(others[1])


class GlobalBatchWorld(BatchWorld):
    """
    ParlAI's ``BatchWorld`` with one slot per example of an update (K x G), of which this worker
    trains on its own share, micro-batch after micro-batch.

    At the first micro-batch of an update every slot draws its next example exactly as ParlAI's
    ``BatchWorld`` of K x G slots in one process does (``MultiWorld`` picks each slot's task when
    its episode is over, then each slot's teacher acts, slot after slot), on the draws' own stream
    (:class:`DataStream`). Then, in each micro-batch, the model's copies of this worker's slots
    observe their examples, the model trains on them as one batch, and the slots' teachers observe
    the replies. A slot always belongs to the same worker, so a
    multi-turn episode's history stays in one model copy, as in one process. The other slots'
    examples are drawn and left: their teachers observe nothing, so this worker's metrics count its
    own examples and the workers' reports add up to the global batch. ``opt`` is the worker's
    (``--batchsize`` G / N: ParlAI counts the epochs of each worker and sums them), ``data_opt``
    the one process's that the slots are built with.
    """

    TEACHER, MODEL = 0, 1

    def __init__(self, opt, data_opt, world, plan):
        if len(world.get_agents()) != 2:
            raise ValueError('a global batch needs a world of a teacher and a model')
        super().__init__(data_opt, world)
        self.opt = opt
        self.plan = plan
        self.stream = DataStream(plan.seed)
        self.micro_batch = 0
        self.teacher_acts = [None] * len(self.worlds)
        self.last_slots = range(0)

    def _draw_the_update(self):
        """
        Every slot's next example, as one process draws them.
        """
        with self.stream.drawing():
            for world in self.worlds:
                if hasattr(world, 'parley_init'):
                    world.parley_init()
            for index, world in enumerate(self.worlds):
                act = world.get_agents()[self.TEACHER].act()
                world.get_acts()[self.TEACHER] = act
                self.teacher_acts[index] = act

    def parley(self):
        if self.micro_batch == 0:
            self._draw_the_update()
        slots = self.plan.slots_of(self.micro_batch)
        mine = [self.worlds[i] for i in slots]
        teacher_acts = [self.teacher_acts[i] for i in slots]
        observations = [
            world.get_agents()[self.MODEL].observe(validate(act))
            for world, act in zip(mine, teacher_acts)
        ]
        model_acts = self.world.get_agents()[self.MODEL].batch_act(observations)
        for world, act in zip(mine, model_acts):
            world.get_acts()[self.MODEL] = act
        # as BatchWorld.parley: the teachers observe the replies, then the model copies
        for world, act in zip(mine, model_acts):
            world.get_agents()[self.TEACHER].observe(validate(act))
        for world, act in zip(mine, model_acts):
            world.get_agents()[self.MODEL].self_observe(validate(act))
        self.acts = [teacher_acts, model_acts]
        self.batch_observations = [model_acts, observations]
        self.last_slots = slots
        self.micro_batch = (self.micro_batch + 1) % self.plan.update_freq
        self.update_counters()

    def display(self):
        lines = []
        for index in self.last_slots:
            lines += [f'[global batch slot {index}:]', self.worlds[index].display()]
        return '\n'.join(lines)
