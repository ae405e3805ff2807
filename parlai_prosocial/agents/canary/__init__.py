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

from parlai_prosocial.formats import split_safety_output
from parlai_prosocial.tasks.prosocial.data import SAFETY_LABELS, THREE_WAY_SAFETY

SAFETY_SCHEMAS = ('five', 'three')


def parse_canary_output(text, schema='five'):
    """
    ``(safety_label, rots_text)`` of a Canary output.

    The label is the first token when it is one of the five released safety labels (mapped to the
    paper's three-way schema with ``schema='three'``); the RoT text is what follows it, '' for a
    bare label (CASUAL). Anything else (no label token, an unknown ``__token__``, empty text) gives
    ``('', the whole text)``: the output is reported, never guessed into a label.

    >>> parse_canary_output("__needs_caution__ It's wrong to hate people.")
    ('__needs_caution__', "It's wrong to hate people.")
    >>> parse_canary_output('__probably_needs_caution__ Be kind.', schema='three')
    ('__needs_caution__', 'Be kind.')
    >>> parse_canary_output('__casual__')
    ('__casual__', '')
    >>> parse_canary_output('hello __casual__')
    ('', 'hello __casual__')
    """
    if schema not in SAFETY_SCHEMAS:
        raise ValueError(f'unknown safety schema {schema!r}: use one of {SAFETY_SCHEMAS}')
    text = text or ''
    label, rots = split_safety_output(text)
    if label not in SAFETY_LABELS:
        return '', text.strip()
    if schema == 'three':
        label = THREE_WAY_SAFETY[label]
    return label, rots


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

    parser = ParlaiParser(True, True)
    args = ['--model', 'canary', '--model-file', model_file]
    if 'datapath' in overrides:
        args += ['--datapath', overrides['datapath']]
    opt = parser.parse_args(args)
    opt['model_file'] = modelzoo_path(opt['datapath'], opt['model_file'])
    overrides = dict(overrides, model='canary')
    for key, value in overrides.items():
        opt[key] = value
    opt['override'] = dict(opt.get('override', {}), **overrides)
    agent = create_agent_from_opt_file(opt)
    if agent is None:
        raise FileNotFoundError(f'no Canary model at {opt["model_file"]} ({model_file})')
    return agent


def __getattr__(name):
    if name == 'CanaryAgent':
        from .agents import CanaryAgent

        return CanaryAgent
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
