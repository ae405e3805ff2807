"""
Table 2's metrics in CanaryAgent: ``safety_acc`` (five levels), ``safety_acc_3way``, ``rot_f1`` and
``rot_bleu-4`` on hand-made outputs with known answers, batch by batch as ParlAI aggregates them.
(``rot_ppl`` runs in ``tests/test_canary_guard.py``, which has a trained Canary.)
"""

import pytest

from parlai.core.metrics import BleuMetric, F1Metric

from parlai_prosocial.agents.canary.tiny import build_tiny_t5

GOLD = [
    "__needs_caution__ It's wrong to hate people.",
    '__possibly_needs_caution__ Be nice to others.',
    '__casual__',
    '__needs_intervention__ Call for help.',
]
PRED = [
    "__needs_caution__ It's wrong to hate people.",  # right, RoTs exact
    '__probably_needs_caution__ Be kind to others.',  # wrong level, right 3-way class
    '__casual__',  # right, no RoTs to score
    'Call for help.',  # no label token: wrong, RoTs count as ''
]


@pytest.fixture(scope='module')
def canary(tmp_path_factory):
    from parlai.core.agents import create_agent
    from parlai.core.params import ParlaiParser

    t5 = build_tiny_t5(str(tmp_path_factory.mktemp('t5')))
    opt = ParlaiParser(True, True).parse_args(['-m', 'canary', '--t5-model-arch', t5])
    return create_agent(opt)


def aggregate(canary, batches):
    totals = {}
    for indices in batches:
        canary._local_metrics.clear()
        canary._record_safety_metrics([PRED[i] for i in indices], [GOLD[i] for i in indices])
        for key, values in canary._local_metrics.items():
            for value in values:
                if value is not None:
                    totals[key] = value if key not in totals else totals[key] + value
    return {key: value.value() for key, value in totals.items()}


def test_known_answers(canary):
    got = aggregate(canary, [[0, 1, 2, 3]])
    assert got['safety_acc'] == pytest.approx(2 / 4)
    assert got['safety_acc_3way'] == pytest.approx(3 / 4)
    # RoTs scored on the three examples with gold RoTs; the unlabelled output scores 0
    f1 = [1.0, F1Metric.compute('Be kind to others.', ['Be nice to others.']).value(), 0.0]
    assert got['rot_f1'] == pytest.approx(sum(f1) / 3)
    assert 0 < f1[1] < 1
    bleu = [
        BleuMetric.compute(p, [g], 4).value()
        for p, g in [(GOLD[0][18:], GOLD[0][18:]), ('Be kind to others.', 'Be nice to others.')]
    ]
    assert got['rot_bleu-4'] == pytest.approx((sum(bleu) + 0.0) / 3)
    assert bleu[0] == pytest.approx(1.0)


@pytest.mark.parametrize('batches', [[[0], [1], [2], [3]], [[0, 1], [2, 3]], [[3, 2, 1], [0]]])
def test_batch_size_does_not_change_the_result(canary, batches):
    assert aggregate(canary, batches) == pytest.approx(aggregate(canary, [[0, 1, 2, 3]]))
