"""
Canary (ProsocialDialog §4.1): the seq2seq dialogue safety module that writes the safety label and
the rules-of-thumb, e.g. ``__needs_caution__ It's wrong to throw things at people.``

* ``-m canary``: :class:`~parlai_prosocial.agents.canary.agents.CanaryAgent`, ParlAI's
  ``hugging_face/t5`` agent that also loads T5 from a local directory and puts the parsed output
  on every reply (``safety_label``, ``rots``);
* :func:`parse_canary_output`: the same parse, from Python;
* :func:`load_canary`: a ready agent from a model file (``zoo:canary/model`` or your own);
* :mod:`.tiny`: a tiny random T5 built offline, for tests and demos only.

Importing this package does not import ParlAI or torch; ``CanaryAgent`` and ``load_canary`` do.
"""

from parlai_prosocial.formats import parse_canary_output  # noqa: F401 (the API above)


def context_text(context):
    """
    The model input for a dialogue context: a string as it is, or a list of turns (oldest first)
    joined with newlines, as the ``prosocial:safety`` teacher and ParlAI's history write it.
    """
    if isinstance(context, str):
        return context
    return '\n'.join(context)


def load_canary(model_file='zoo:canary/model', **overrides):
    """
    A :class:`CanaryAgent` loaded from ``model_file`` (a path, or ``zoo:canary/model``), with
    option overrides, e.g. ``load_canary(t5_model_arch='/models/t5-large', datapath='/data')``.

    A checkpoint saved by another T5 agent (``hugging_face/t5``) is loaded as Canary too: the
    weights are the same.
    """
    from parlai.core.agents import create_agent_from_opt_file
    from parlai.core.build_data import modelzoo_path
    from parlai.core.params import ParlaiParser

    from parlai_prosocial.agents import check_model_file, overriding_quietly
    from parlai_prosocial.model_files import saved_options

    from .agents import CanaryAgent

    parser = ParlaiParser(True, True)
    args = ['--model', 'canary', '--model-file', model_file]
    if 'datapath' in overrides:
        args += ['--datapath', overrides['datapath']]
    opt = parser.parse_args(args)
    opt['model_file'] = modelzoo_path(opt['datapath'], opt['model_file'])
    check_model_file(opt['model_file'], '--model-file', CanaryAgent)
    saved_options(opt['model_file'] + '.opt')  # one line if it is missing or unreadable
    overrides = dict(overrides, model='canary')
    for key, value in overrides.items():
        opt[key] = value
    opt['override'] = dict(opt.get('override', {}), **overrides)
    with overriding_quietly(overrides):  # the caller's choice, not news to the caller
        return create_agent_from_opt_file(opt)


def __getattr__(name):
    if name == 'CanaryAgent':
        from .agents import CanaryAgent

        return CanaryAgent
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
