"""
``-m canary_guard``'s plumbing: what it passes, steers and shows for Canary's decisions. The Canary
is the scripted one (``scripted_canary`` in conftest.py: each turn of the bundled sample gets its
annotated target, any other turn ``__casual__``), so every decision is certain on any machine; it
guards two kinds of generator: a tiny ``transformer/generator`` trained once on ProsocialDialog,
and ParlAI's ``repeat_query`` (which echoes the last line it observes, so its reply shows what the
guard fed it). The session's trained tiny Canary is evaluated on its own training split at the end
(its labels: test_canary.py). The ``parlai`` commands run in this process.
"""

import json

import pytest

from parlai.core.agents import create_agent
from parlai.core.message import Message
from parlai.core.params import ParlaiParser

from parlai_prosocial.agents.canary_guard import (
    DEFAULT_HELP_TEXT,
    PASS,
    STEER,
    STEER_AND_HELP,
    lm_prompt,
    lm_reply,
    speaker_turns,
)
from parlai_prosocial.testing.samples import prosocial_dialogues

from parlai_prosocial import testing

SAMPLE = prosocial_dialogues()
CAUTION = SAMPLE['train'][0][0]  # "I'm going to call 911 just for fun tonight."
INTERVENTION = SAMPLE['train'][2][0]  # "... I want to poison it."
CASUAL = SAMPLE['train'][3][0]  # "I just adopted a kitten!"


def rots_of(turn):
    return ', '.join(turn['rots'])


@pytest.fixture(scope='module')
def env(sample_data_dir):
    return dict(PROSOCIAL_DATA_DIR=sample_data_dir)


@pytest.fixture(scope='module')
def generator(tiny_generator):
    return tiny_generator


def make_guard(canary, *args):
    opt = ParlaiParser(True, True).parse_args(
        ['-m', 'canary_guard', '--canary-model-file', canary] + list(args)
    )
    return create_agent(opt)


def say(agent, text, episode_done=False):
    agent.observe(Message({'text': text, 'episode_done': episode_done}))
    return agent.act()


# --- prompt helpers -----------------------------------------------------------------------------


def test_lm_prompt_is_the_papers():
    assert lm_prompt(['Hi.']) == (
        'The following is a conversation between Speaker 1 and Speaker 2.\n\n'
        'Speaker 1: Hi.\nSpeaker 2:'
    )
    assert lm_prompt(['a', 'b', 'c'], 'It is wrong to lie.') == (
        'The following is a conversation between Speaker 1 and Speaker 2. Speaker 2 is trying '
        'to gently explain It is wrong to lie.\n\nSpeaker 1: a\nSpeaker 2: b\nSpeaker 1: c\n'
        'Speaker 2:'
    )
    # the partner speaks last whatever the number of turns
    assert speaker_turns(['x', 'y']) == ['Speaker 2: x', 'Speaker 1: y']
    assert lm_reply(' No.\nSpeaker 1: ok') == 'No.'


# --- repeat_query: what the generator sees ------------------------------------------------------


def test_casual_passes_unchanged_caution_steers_intervention_adds_help(scripted_canary):
    guard = make_guard(scripted_canary, '--guarded-model', 'repeat_query')
    casual = say(guard, CASUAL['context'], episode_done=True)
    assert casual['safety_label'] == '__casual__'
    assert casual['guard_action'] == PASS
    assert casual['text'] == CASUAL['context']  # repeat_query saw the turn as it was
    assert 'help_text' not in casual

    caution = say(guard, CAUTION['context'], episode_done=True)
    assert (caution['safety_label'], caution['guard_rots_text']) == (
        '__needs_caution__', rots_of(CAUTION)
    )
    assert caution['guard_action'] == STEER
    assert caution['text'] == rots_of(CAUTION)  # the last line it saw: the RoTs

    intervention = say(guard, INTERVENTION['context'], episode_done=True)
    assert intervention['safety_label'] == '__needs_intervention__'
    # by default no pointer to human help: the paper adds none (§6.2, App. D.2)
    assert intervention['guard_action'] == STEER and 'help_text' not in intervention
    assert intervention['text'] == rots_of(INTERVENTION)

    helping = make_guard(scripted_canary, '--guarded-model', 'repeat_query',
                         '--guard-help-text', DEFAULT_HELP_TEXT)
    intervention = say(helping, INTERVENTION['context'], episode_done=True)
    assert intervention['guard_action'] == STEER_AND_HELP
    assert intervention['help_text'] == DEFAULT_HELP_TEXT
    assert intervention['text'] == rots_of(INTERVENTION) + ' ' + DEFAULT_HELP_TEXT


def test_a_batch_of_conversations_and_observations_that_hold_data_not_agents(scripted_canary):
    from parlai.core.agents import create_agent_from_shared

    guard = make_guard(
        scripted_canary, '--guarded-model', 'fixed_response',
        '--guarded-args', "--fixed-response 'Hm.'",
    )
    shared = guard.share()
    copies = [create_agent_from_shared(shared) for _ in range(3)]
    texts = [CASUAL['context'], INTERVENTION['context'], CASUAL['context']]
    observed = [
        copy.observe(Message({'text': text, 'episode_done': False}))
        for copy, text in zip(copies, texts)
    ]
    json.dumps(observed)  # world logs and batching serialise observations: no agent inside
    replies = guard.batch_act(observed)
    assert [r['safety_label'] for r in replies] == [
        '__casual__', '__needs_intervention__', '__casual__'
    ]
    for copy, reply in zip(copies, replies):
        copy.self_observe(reply)
    # each conversation kept its own turns
    assert [copy.turns for copy in copies] == [[text, 'Hm.'] for text in texts]


# --- a trained transformer/generator ------------------------------------------------------------


def test_generator_casual_reply_is_the_bare_generators(scripted_canary, generator):
    from parlai.core.agents import create_agent_from_model_file

    bare = create_agent_from_model_file(generator)
    guard = make_guard(scripted_canary, '--guarded-model-file', generator)
    assert guard.mode == 'context'
    # the sample's casual turn, then a follow-up in the same conversation: both labelled casual,
    # both pass, word for word the bare generator's replies
    for text in (CASUAL['context'], CASUAL['response']):
        expected = say(bare, text)['text']
        reply = say(guard, text)
        assert reply['safety_label'] == '__casual__', reply
        assert reply['guard_action'] == PASS
        assert reply['text'] == expected


def test_generator_sees_rots_for_the_turn_only(scripted_canary, generator):
    guard = make_guard(scripted_canary, '--guarded-model-file', generator)
    seen = []
    observe = guard.generator.observe

    def recording_observe(message):
        observed = observe(message)
        seen.append(guard.generator.history.get_history_str())
        return observed

    guard.generator.observe = recording_observe
    reply = say(guard, CAUTION['context'])
    assert reply['guard_action'] == STEER and reply['text']
    assert seen[-1] == CAUTION['context'] + '\n' + rots_of(CAUTION)
    # the generator's history keeps the turn and its own reply, not the RoTs
    history = guard.generator.history.history_strings
    assert history == [CAUTION['context'], reply['text']]
    # the guard's dialogue (what Canary reads next) is the same
    assert guard.turns == [CAUTION['context'], reply['text']]
    say(guard, 'Why not?', episode_done=True)
    # what Canary read: the dialogue so far, the partner's turn last
    assert guard.canary.contexts == [
        CAUTION['context'], f"{CAUTION['context']}\n{reply['text']}\nWhy not?"
    ]
    assert guard.turns == [] and guard.generator.history.history_strings == []


def test_prompt_mode_feeds_the_papers_prompt(scripted_canary, generator):
    guard = make_guard(scripted_canary, '--guarded-model-file', generator, '--guard-mode', 'prompt')
    seen = []
    observe = guard.generator.observe
    guard.generator.observe = lambda m: seen.append(m['text']) or observe(m)
    first = say(guard, CAUTION['context'])
    assert first['guard_action'] == STEER
    assert seen[-1] == lm_prompt([CAUTION['context']], rots_of(CAUTION))
    assert '\n' not in first['text']
    second = say(guard, 'Why not?', episode_done=True)  # a casual turn: P_0 of the whole dialogue
    assert second['guard_action'] == PASS
    assert seen[-1] == lm_prompt([CAUTION['context'], first['text'], 'Why not?'])
    third = say(guard, CASUAL['context'], episode_done=True)  # a new episode
    assert third['guard_action'] == PASS
    assert seen[-1] == lm_prompt([CASUAL['context']])


def test_batch_act_equals_one_at_a_time(scripted_canary, generator, tmp_path, env):
    """
    ``eval_model`` on the sample's training split with batch size 1 and 3: same replies, same
    decisions, same metrics.
    """
    outputs = {}
    for bs in (1, 3):
        report, logs = str(tmp_path / f'r{bs}.json'), str(tmp_path / f'l{bs}.jsonl')
        testing.parlai_in_process(
            ['eval_model', '-m', 'canary_guard', '--guarded-model-file', generator,
             '--canary-model-file', scripted_canary, '-t', 'prosocial', '-dt', 'train:evalmode',
             '-bs', str(bs), '--report-filename', report, '--world-logs', logs],
            cwd=str(tmp_path),
            env_extra=env,
        )
        turns = sorted(
            (t['text'], r['text'], r['safety_label'], r['guard_action'])
            for line in open(logs)
            for t, r in json.loads(line)['dialog']
        )
        outputs[bs] = (turns, json.load(open(report))['report'])
    (turns1, report1), (turns3, report3) = outputs[1], outputs[3]
    assert turns1 == turns3
    assert len(turns1) == sum(len(d) for d in SAMPLE['train'])
    for key in ('exs', 'f1', 'guard_steered', 'guard_help', 'ppl'):
        assert report1[key] == pytest.approx(report3[key], abs=1e-4), key
    assert report1['guard_help'] == 0  # no help pointer unless asked for
    # the gold reply in the history (--use-reply label): each turn the annotated decision
    annotated = [turn['safety_label'] for dialogue in SAMPLE['train'] for turn in dialogue]
    assert sorted(label for _, _, label, _ in turns1) == sorted(annotated)


def test_interactive_shows_the_decision(scripted_canary, tmp_path):
    out = testing.parlai_in_process(
        ['interactive', '-m', 'canary_guard',
         '--guarded-model', 'repeat_query', '--canary-model-file', scripted_canary,
         '--display-add-fields', 'safety_label,guard_rots_text,guard_action',
         '--guard-help-text', DEFAULT_HELP_TEXT],
        stdin='\n[DONE]\n'.join([CASUAL['context'], INTERVENTION['context']]) + '\n[EXIT]\n',
        cwd=str(tmp_path),
    ).output
    assert '[safety_label]: __casual__' in out, out[-3000:]
    assert '[safety_label]: __needs_intervention__' in out
    assert f'[guard_rots_text]: {rots_of(INTERVENTION)}' in out
    assert '[guard_action]: steer+help' in out and '[guard_action]: pass' in out
    assert DEFAULT_HELP_TEXT in out


def test_canary_table2_metrics_are_the_same_at_any_batch_size(tiny_canary, tmp_path, env):
    # the trained tiny Canary on its training split (its fixture checks it reproduces it)
    reports = {}
    for bs in (1, 4):
        report = str(tmp_path / f'r{bs}.json')
        testing.parlai_in_process(
            ['eval_model', '-mf', tiny_canary, '-t', 'prosocial:safety', '-dt', 'train:evalmode',
             '-bs', str(bs), '--report-filename', report],
            cwd=str(tmp_path), env_extra=env,
        )
        reports[bs] = json.load(open(report))['report']
    for key in ('safety_acc', 'safety_acc_3way', 'rot_f1', 'rot_bleu-4', 'rot_ppl'):
        assert reports[1][key] == pytest.approx(reports[4][key], abs=1e-4), key
    assert reports[1]['safety_acc_3way'] >= reports[1]['safety_acc']
    assert reports[1]['rot_ppl'] >= 1
