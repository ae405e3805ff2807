"""
ParlAI's datasets that a run of ours reads (our runs only).
"""

from parlai_prosocial.our_names import is_our_run


def casual_corpora_before_download(worlds_module):
    """
    ``parlai.core.worlds``: before the world of a run of ours builds its teachers, the casual
    corpora it reads that are not in its datapath (``-o prosocial/tiny_prost`` offline without the
    stand-ins) are one line when they cannot be downloaded
    (:func:`parlai_prosocial.casual_corpora.check_before_download`): no half-downloaded folder,
    no half minute of retries per corpus. Wraps ParlAI 1.7.2's ``create_task``, which every
    command that builds a task's world calls (``build_dict`` first, in training); with the corpora
    there, or reachable, it is ParlAI's own.
    """
    from parlai_prosocial.casual_corpora import check_before_download

    parlai_create_task = worlds_module.create_task

    def create_task(opt, user_agents, default_world=None):
        if is_our_run(opt):
            check_before_download(opt)
        return parlai_create_task(opt, user_agents, default_world=default_world)

    create_task.__doc__ = parlai_create_task.__doc__
    worlds_module.create_task = create_task
