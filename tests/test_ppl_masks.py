"""
Known answers for the two perplexities computed over part of the target: Prost's
``response_ppl`` (the reply after the last ``__endrots__``, as ``formats.split_rot_response``) and Canary's ``rot_ppl`` (the gold
RoTs after the label token). Hand-made label vectors and per-token losses; the metric must be
exp(mean loss) over exactly the tokens the docstrings name.
"""

import math
import types

import pytest
import torch

from parlai_prosocial.agents.canary.agents import CanaryAgent
from parlai_prosocial.agents.prost.agents import ProstAgent
from parlai_prosocial.formats import ROTS_END

NULL, END, ENDROTS, LABEL = 0, 2, 5, 50


def _recorded(agent_class, attributes, batch, losses):
    """
    What ``agent_class.record_per_token_metrics`` records, on an agent that has only
    ``attributes`` (no model: the method reads the batch, the losses and these).
    """
    agent = agent_class.__new__(agent_class)
    vars(agent).update(attributes)
    recorded = {}
    agent.record_local_metric = lambda name, values: recorded.setdefault(name, values)
    agent.record_per_token_metrics(batch, torch.tensor(losses))
    return recorded


def _values(metrics):
    return [None if m is None else m.value() for m in metrics]


def test_response_ppl_is_over_the_reply_after_the_last_endrots():
    prost = dict(is_training=False, NULL_IDX=NULL, dict={ROTS_END: ENDROTS})
    label_vec = torch.tensor(
        [
            [7, 8, ENDROTS, 9, 10, END, NULL],  # RoTs, marker, reply + end
            [9, 10, END, NULL, NULL, NULL, NULL],  # no RoTs: the whole target is the reply
            [7, ENDROTS, 8, ENDROTS, 9, END, NULL],  # two markers: after the last one
            [7, ENDROTS, NULL, NULL, NULL, NULL, NULL],  # nothing after the marker
        ]
    )
    losses = [
        [9.0, 9.0, 9.0, 2.0, 4.0, 6.0, 50.0],
        [1.0, 3.0, 5.0, 50.0, 50.0, 50.0, 50.0],
        [9.0, 9.0, 1.0, 2.0, 3.0, 6.0, 50.0],
        [9.0, 9.0, 50.0, 50.0, 50.0, 50.0, 50.0],
    ]
    batch = types.SimpleNamespace(label_vec=label_vec)
    recorded = _recorded(ProstAgent, prost, batch, losses)
    assert _values(recorded['response_ppl']) == pytest.approx(
        [math.exp(4.0), math.exp(3.0), math.exp(4.5), None]
    )


def test_rot_ppl_is_over_the_gold_rots_after_the_label_token():
    canary = dict(
        is_training=False,
        NULL_IDX=NULL,
        END_IDX=END,
        dict=types.SimpleNamespace(txt2vec=lambda text: [LABEL, END]),
    )
    label_vec = torch.tensor(
        [
            [LABEL, 11, 12, END, NULL],  # label, RoT tokens, end
            [LABEL, END, NULL, NULL, NULL],  # casual: no RoTs
            [LABEL, 13, END, NULL, NULL],
        ]
    )
    losses = [
        [9.0, 1.0, 2.0, 3.0, 50.0],
        [9.0, 9.0, 50.0, 50.0, 50.0],
        [9.0, 4.0, 6.0, 50.0, 50.0],
    ]
    batch = types.SimpleNamespace(
        label_vec=label_vec,
        labels=[
            "__needs_caution__ It's wrong to lie.",
            '__casual__',
            '__needs_intervention__ You should call for help.',
        ],
    )
    recorded = _recorded(CanaryAgent, canary, batch, losses)
    assert _values(recorded['rot_ppl']) == pytest.approx([math.exp(2.0), None, math.exp(5.0)])
