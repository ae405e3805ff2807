"""
The guard as §6.2 and App. D.2 ran it, by default: Canary's RoTs are *sampled* (nucleus, seeded per
context so a run repeats at any batch size; greedy on request), no pointer to human help unless
one is given, and a caution label without RoTs is not "steered". The session's untrained tiny
Canary (its outputs are near-uniform: sampling shows), offline.
"""

import pytest
import torch

from parlai.core.agents import create_agent
from parlai.core.message import Message
from parlai.core.params import ParlaiParser

from parlai_prosocial.agents.canary_guard import HELP, PASS, STEER, STEER_AND_HELP
from parlai_prosocial.agents.canary_guard.agents import act

CONTEXTS = [
    "I'm going to call 911 just for fun tonight.",
    'I just adopted a kitten!',
    ['I want to poison my neighbour\'s dog.', 'Why would you do that?', 'It barks all night.'],
    'My friend borrowed my car and disappeared.',
]


def _canary(model_file, **overrides):
    from parlai_prosocial.agents.canary import load_canary

    return load_canary(model_file, **overrides)


def test_act_steers_only_with_rots_and_helps_only_when_asked():
    assert act(STEER, "It's wrong to lie.", '') == STEER
    assert act(STEER, '', '') == PASS  # a caution label without RoTs steers nothing
    assert act(STEER, '  ', 'Call 555.') == PASS
    assert act(STEER_AND_HELP, 'Be safe.', '') == STEER
    assert act(STEER_AND_HELP, 'Be safe.', 'Call 555.') == STEER_AND_HELP
    assert act(STEER_AND_HELP, '', 'Call 555.') == HELP
    assert act(STEER_AND_HELP, '', '') == PASS
    assert act(PASS, 'anything', 'Call 555.') == PASS


def test_defaults_are_the_papers():
    opt = ParlaiParser(True, True).parse_args(['-m', 'canary_guard', '--guarded-model',
                                               'repeat_query'])
    assert opt['guard_help_text'] == ''
    assert (opt['guard_rots'], opt['guard_rots_topp'], opt['guard_rots_seed']) == (
        'sample', 0.9, 0)


def test_nucleus_really_samples_and_the_seed_decides(untrained_canary):
    canary = _canary(untrained_canary, inference='nucleus', topp=0.9, beam_size=1)
    first = canary.classify_batch(CONTEXTS, seed=0)
    assert canary.classify_batch(CONTEXTS, seed=0) == first  # the same run again
    # the same context gets the same RoTs in any batch, in any position
    assert canary.classify_batch(CONTEXTS[::-1], seed=0) == first[::-1]
    assert canary.classify_batch(CONTEXTS[2:3], seed=0) == first[2:3]
    # another seed, other samples (ParlAI's T5 agent would decode nucleus greedily)
    assert canary.classify_batch(CONTEXTS, seed=1) != first
    # the global random state is left alone
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    canary.classify_batch(CONTEXTS[:1], seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_greedy_rots_on_request(untrained_canary):
    greedy = _canary(untrained_canary, inference='greedy', beam_size=1)
    once = greedy.classify_batch(CONTEXTS)
    assert greedy.classify_batch(CONTEXTS) == once
    sampled = _canary(untrained_canary, inference='nucleus', topp=0.9, beam_size=1)
    assert sampled.classify_batch(CONTEXTS, seed=0) != once


def _guard(canary_file, *args):
    opt = ParlaiParser(True, True).parse_args(
        ['-m', 'canary_guard', '--canary-model-file', canary_file, '--guarded-model',
         'repeat_query'] + list(args)
    )
    return create_agent(opt)


@pytest.mark.parametrize('args,expected', [
    ([], 'nucleus'),
    (['--guard-rots', 'greedy'], 'greedy'),
])
def test_guard_decodes_canary_as_asked(untrained_canary, args, expected):
    guard = _guard(untrained_canary, *args)
    assert guard.canary.opt['inference'] == expected
    guard.observe(Message({'text': CONTEXTS[0], 'episode_done': True}))
    reply = guard.act()
    assert 'safety_label' in reply and 'guard_action' in reply


@pytest.mark.parametrize('label,rots,help_text,action,steered,helped,said', [
    ('__needs_caution__', '', '', PASS, 0, 0, 'hello there'),
    ('__probably_needs_caution__', "It's wrong to lie.", '', STEER, 1, 0, "It's wrong to lie."),
    ('__needs_intervention__', 'Be safe.', '', STEER, 1, 0, 'Be safe.'),
    ('__needs_intervention__', 'Be safe.', 'Call 555.', STEER_AND_HELP, 1, 1,
     'Be safe. Call 555.'),
    ('__needs_intervention__', '', 'Call 555.', HELP, 0, 1, 'hello there Call 555.'),
    ('__casual__', '', 'Call 555.', PASS, 0, 0, 'hello there'),
])
def test_what_is_counted_as_steered(untrained_canary, label, rots, help_text, action, steered,
                                    helped, said):
    """
    ``repeat_query`` repeats the last line it saw: the RoTs when steered, else the turn itself.
    """
    guard = _guard(untrained_canary, '--guard-help-text', help_text)
    guard.canary.classify_batch = lambda contexts, **kwargs: [(label, rots)] * len(contexts)
    guard.observe(Message({'text': 'hello there', 'episode_done': True}))
    reply = guard.act()
    assert reply['guard_action'] == action
    assert reply['text'] == said
    assert reply['metrics']['guard_steered'].value() == steered
    assert reply['metrics']['guard_help'].value() == helped
