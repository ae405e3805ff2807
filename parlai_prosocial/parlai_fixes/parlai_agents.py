"""
What ParlAI's own agents do when a run of ours loads them (our runs only): a
``transformer/generator`` or ``transformer/classifier`` model file that our presets wrote (its
``.opt`` names our preset or task), in ``parlai interactive``.
"""

from parlai_prosocial.our_names import is_our_run


def _in_a_run_of_ours(agent):
    """
    Whether ``agent``'s options name something of ours, decided once per agent.
    """
    ours = agent.__dict__.get('_parlai_prosocial_ours')
    if ours is None:
        ours = agent._parlai_prosocial_ours = is_our_run(agent.opt)
    return ours


def empty_line_in_interactive(torch_agent_module):
    """
    ``parlai.core.torch_agent``: an empty line typed into ``parlai interactive`` gets
    :data:`parlai_prosocial.agents.EMPTY_INPUT_REPLY`, as it does from our own agents
    (:class:`~parlai_prosocial.agents.AsksAgainOnEmptyInput`), when ParlAI's own ``TorchAgent``
    (``-mf`` of a ``tiny_generator`` model) is the model of a run of ours. ParlAI's agent makes no
    reply for a message without text and then fails on its own missing reply (``KeyError:
    'text'``). Wraps ParlAI 1.7.2's ``TorchAgent.observe`` and ``TorchAgent.act``; our agents,
    which ask again themselves before these are reached, and every run not ours keep them as they
    are.
    """
    from parlai_prosocial.agents import AsksAgainOnEmptyInput

    TorchAgent = torch_agent_module.TorchAgent
    parlai_observe, parlai_act = TorchAgent.observe, TorchAgent.act

    def observe(self, observation):
        if (self.opt.get('interactive_mode') and _in_a_run_of_ours(self)
                and AsksAgainOnEmptyInput.typed_nothing(self, observation)):
            return observation
        return parlai_observe(self, observation)

    def act(self):
        if self.__dict__.get('_empty_input'):
            return AsksAgainOnEmptyInput.ask_again(self)
        return parlai_act(self)

    observe.__doc__, act.__doc__ = parlai_observe.__doc__, parlai_act.__doc__
    TorchAgent.observe, TorchAgent.act = observe, act
