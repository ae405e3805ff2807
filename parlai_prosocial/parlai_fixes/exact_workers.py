"""
N training workers take the step one worker takes, and a distributed evaluation counts each
example once (our runs only; :mod:`parlai_prosocial.exact_workers` holds how).
"""


def global_batch_as_one_process(worlds_module):
    """
    ``parlai.core.worlds``: ``create_task`` builds the training world of a worker of ours under a
    global batch (``--global-batchsize`` in effect, N workers or ``--update-freq``) as the one
    process's world, of which the worker trains on its own slots, with its model normalising the
    loss over the whole update (:func:`parlai_prosocial.exact_workers.global_batch_world`); and it
    gives the evaluation worlds of a distributed run of ours this worker's share for the teachers
    that do not split evaluation themselves (:func:`~parlai_prosocial.exact_workers.
    shard_evaluation_of`). Wraps ParlAI 1.7.2's ``create_task`` (``train_model``,
    ``multiprocessing_train``, ``distributed_train`` and ``eval_model`` take it from there); any
    other world is ParlAI's.
    """
    from parlai_prosocial.exact_workers import (
        global_batch_plan,
        global_batch_world,
        shard_evaluation_of,
    )

    parlai_create_task = worlds_module.create_task

    def create_task(opt, user_agents, default_world=None):
        plan = global_batch_plan(opt)
        if plan is None:
            return parlai_create_task(shard_evaluation_of(opt), user_agents, default_world)
        return global_batch_world(parlai_create_task, opt, user_agents, plan, default_world)

    create_task.__doc__ = parlai_create_task.__doc__
    worlds_module.create_task = create_task


def evaluation_split_between_workers(teachers_module):
    """
    ``parlai.core.teachers``: a ``FixedDialogTeacher`` that does not split evaluation between
    distributed workers itself (ParlAI's DailyDialog and BlendedSkillTalk teachers were evaluated
    whole by every worker: ``exs`` x N) takes its worker's share when its world was given one
    (:func:`parlai_prosocial.exact_workers.sharded_next_episode_idx`). Wraps ParlAI 1.7.2's
    ``FixedDialogTeacher.next_episode_idx``; without a share it is ParlAI's.
    """
    from parlai_prosocial.exact_workers import sharded_next_episode_idx

    teacher_class = teachers_module.FixedDialogTeacher
    teacher_class.next_episode_idx = sharded_next_episode_idx(teacher_class.next_episode_idx)
