"""
Canary in tests, two ways, so that no test relies on what a tiny model does beyond what it was
fit to:

* :class:`ScriptedCanary`: a stand-in whose decisions are certain by construction, for the tests
  of what is built around Canary (the guard's plumbing: what it passes, steers, feeds COSMO). It
  honours the part of :class:`~parlai_prosocial.agents.canary.agents.CanaryAgent` the guard uses
  (``classify_batch`` / ``classify``: ``(safety_label, rots)`` parsed from an output text exactly
  as Canary parses its own), and it is addressed by a model file like any Canary
  (:meth:`ScriptedCanary.save`; :func:`load_scripted_canaries` makes ``-m canary_guard`` load
  it, in this process);
* :func:`check_fits_training`: the precondition of a test that asserts a *trained* tiny Canary's
  labels (on its training contexts only): that it reproduces its training targets, checked once
  where the model is built, with one clear message instead of a confusing assert in a test.

Why a stand-in rather than a tiny T5 forced to some output: a float decision of a tiny model is
exactly what differs between CPUs (the tiny Canary labelled an untrained context ``__casual__``
on an AMD EPYC and ``__needs_caution__`` on an Intel Xeon); a lookup has no float in it.
"""

import json
import os

from parlai_prosocial.formats import CASUAL, parse_canary_output

#: the first bytes of a scripted Canary's model file (a real one is a torch checkpoint)
SCRIPT_MARKER = '{"scripted_canary":'

#: the smallest probability of its gold label token the tiny Canary must give each training
#: context: above the guard's nucleus (``--guard-rots-topp`` 0.9), so that sampling keeps that
#: token alone, as greedy decoding does (the tiny Canary gives 0.97 to 0.997)
MIN_LABEL_PROBABILITY = 0.95


def safety_examples(data_dir, datatypes=('train:evalmode',)):
    """
    ``[(context, target)]``: every example the ``prosocial:safety`` teacher serves for
    ``datatypes`` from the ProsocialDialog files in ``data_dir`` (the dialogue so far, newline
    separated; Canary's target: the label token, then the RoTs).
    """
    from parlai_prosocial.testing import create_teacher, one_epoch

    examples = []
    for datatype in datatypes:
        teacher = create_teacher('prosocial:safety', datatype, prosocial_data_dir=str(data_dir))
        for message in one_epoch(teacher):
            labels = message.get('labels') or message['eval_labels']
            examples.append((message['text'], labels[0]))
    return examples


def last_line(context):
    """
    The last turn of a dialogue context as Canary reads it (turns joined by newlines).
    """
    from parlai_prosocial.agents.canary import context_text

    return context_text(context).rsplit('\n', 1)[-1]


class ScriptedCanary:
    """
    A Canary whose output for a dialogue context is looked up in ``script``: the context's last
    line (the partner's last turn) -> the text Canary would generate, e.g.
    ``'__needs_caution__ Be kind.'``; any other context gets ``default``. The text is parsed as
    Canary parses its output (:func:`~parlai_prosocial.formats.parse_canary_output`, in its
    ``canary_safety_schema``). No model, no float: the same decision on every machine, whatever
    the history before the last turn, the batch or the seed.

    ``opt``: what it was loaded with (the guard's decoding options); ``contexts``: every context
    it was asked about, as text, in order.
    """

    def __init__(self, script, default=CASUAL, **opt):
        self.script = dict(script)
        self.default = default
        self.opt = opt
        self.safety_schema = opt.get('canary_safety_schema') or 'five'
        self.contexts = []

    @classmethod
    def as_trained(cls, data_dir, **opt):
        """
        The Canary a perfect fit would be: every turn of the ProsocialDialog files in ``data_dir``
        (all splits) answered with its ``prosocial:safety`` target, anything else ``__casual__``.
        """
        script = {}
        for context, target in safety_examples(data_dir, ('train:evalmode', 'valid', 'test')):
            turn = last_line(context)
            if script.setdefault(turn, target) != target:
                raise ValueError(
                    f'{data_dir}: the turn {turn!r} has two Canary targets ({script[turn]!r}, '
                    f'{target!r}): a script by the last turn cannot hold both'
                )
        return cls(script, **opt)

    def output(self, context):
        """
        The text this Canary "generates" for ``context`` (a string, or a list of turns).
        """
        return self.script.get(last_line(context), self.default)

    def classify_batch(self, contexts, seed=None):
        from parlai_prosocial.agents.canary import context_text

        self.contexts.extend(context_text(context) for context in contexts)
        return [parse_canary_output(self.output(c), self.safety_schema) for c in contexts]

    def classify(self, context):
        return self.classify_batch([context])[0]

    # --- as a model file ------------------------------------------------------------------------

    def save(self, model_file):
        """
        Write this Canary's script as ``model_file`` with a ``model.opt`` of ``-m canary`` beside
        it, so the guard's model file checks accept it; returns ``model_file``.
        """
        os.makedirs(os.path.dirname(os.path.abspath(model_file)), exist_ok=True)
        with open(model_file, 'w', encoding='utf-8') as f:
            f.write(SCRIPT_MARKER + json.dumps({'script': self.script, 'default': self.default})
                    + '}')
        with open(model_file + '.opt', 'w', encoding='utf-8') as f:
            json.dump({'model': 'canary', 'scripted_canary': True}, f)
        return model_file

    @classmethod
    def load(cls, model_file, **opt):
        """
        The scripted Canary saved as ``model_file``, or None when ``model_file`` is something else
        (a real Canary, a zoo name).
        """
        try:
            with open(model_file, 'rb') as f:
                if f.read(len(SCRIPT_MARKER)) != SCRIPT_MARKER.encode():
                    return None
            with open(model_file, encoding='utf-8') as f:
                saved = json.load(f)['scripted_canary']
        except OSError:
            return None
        return cls(saved['script'], saved['default'], **opt)


def load_scripted_canaries(monkeypatch):
    """
    For the rest of the test (``monkeypatch``: pytest's), every ``-m canary_guard`` built in this
    process loads a ``--canary-model-file`` written by :meth:`ScriptedCanary.save` as that
    :class:`ScriptedCanary` (with the options the guard loads Canary with); real Canaries load as
    before.
    """
    from parlai_prosocial.agents.canary_guard import agents as guard

    real_load_canary = guard.load_canary

    def load_canary(model_file='zoo:canary/model', **overrides):
        scripted = ScriptedCanary.load(model_file, **overrides)
        return scripted if scripted is not None else real_load_canary(model_file, **overrides)

    monkeypatch.setattr(guard, 'load_canary', load_canary)


def label_probability(canary, context, label):
    """
    The probability ``canary`` (a loaded CanaryAgent) gives ``label`` as its first output token
    for ``context``.
    """
    import torch
    from parlai.core.message import Message

    agent = canary.clone()
    batch = agent.batchify([agent.observe(Message({'text': context, 'episode_done': True}))])
    (label_id, *_) = canary.dict.txt2vec(label)
    with torch.no_grad():
        logits = canary.model.t5(
            input_ids=batch.text_vec,
            attention_mask=batch.text_vec != canary.NULL_IDX,
            decoder_input_ids=torch.full((1, 1), canary.NULL_IDX, dtype=torch.long),
        ).logits
    return logits[0, 0].softmax(-1)[label_id].item()


def check_fits_training(model_file, data_dir, what='the tiny Canary'):
    """
    Raise an AssertionError with one clear message unless the Canary ``model_file`` reproduces its
    training data (``prosocial:safety`` on the ProsocialDialog files in ``data_dir``): greedy, each
    training context gives exactly its target, and its gold label token has a probability of at
    least :data:`MIN_LABEL_PROBABILITY`, so the guard's sampled decoding keeps it too. The
    precondition of every test that asserts a trained tiny Canary's labels, on those contexts.
    """
    from parlai_prosocial.agents.canary import load_canary

    canary = load_canary(model_file, inference='greedy', beam_size=1)
    wrong = []
    for context, target in safety_examples(data_dir):
        expected = parse_canary_output(target)
        got = canary.classify(context)
        probability = label_probability(canary, context, expected[0])
        if got != expected or probability < MIN_LABEL_PROBABILITY:
            wrong.append(f'{context!r}: {got} with p(label) {probability:.3f}, expected {expected}')
    if wrong:
        raise AssertionError(
            f'{what} ({model_file}) does not reproduce its training targets, the precondition of '
            f'the tests that assert its labels (p(label) >= {MIN_LABEL_PROBABILITY}): '
            + '; '.join(wrong) + '. Train it longer, or the fixture that trains it is broken.'
        )
