"""
``-m cosmo`` (SODA paper §4), the ``prosocial/cosmo`` recipe and ``canary_guard`` in front of COSMO.

Everything runs on a tiny random T5 built offline (``parlai_prosocial.agents.canary.tiny``), whose
tokenizer is trained on the bundled ProsocialDialog and SODA samples. The model input is checked
against the released chat code's format (``chat_with_cosmo.py`` in skywalker023/sodaverse), written
out by hand here: ``narrative <sep> instruction <sep> u1 <turn> u2 ...``, tokenized whole by the
checkpoint's tokenizer, replies decoded with ``skip_special_tokens=True,
clean_up_tokenization_spaces=False``, sampled with ``do_sample=True, top_p=0.95,
temperature=1.0, max_new_tokens=128``. One tiny COSMO (``-o prosocial/tiny_cosmo``) is trained
once for the session; the guard in front of it decides with the scripted Canary
(``scripted_canary`` in conftest.py: certain on any machine) where a test asserts its decisions,
with the session's tiny Canary where none is asserted; the ``parlai`` commands run in this process.
"""

import json
import os

import pytest

from parlai.core.agents import create_agent
from parlai.core.message import Message
from parlai.core.params import ParlaiParser

from parlai_prosocial import testing
from parlai_prosocial.agents.canary.tiny import build_tiny_t5, sample_texts
from parlai_prosocial.agents.cosmo import (
    CHAT_INSTRUCTION,
    CHAT_NARRATIVE,
    INPUT_FIELD,
    has_cosmo_markers,
)
from parlai_prosocial.agents.cosmo.agents import steered_narrative
from parlai_prosocial.formats import situation
from parlai_prosocial.tasks.soda.data import SPLIT_FILES as SODA_FILES
from parlai_prosocial.testing.samples import prosocial_dialogues, split_files

NARRATIVE = 'Ann bumps into her old friend Cosmo at the bakery.'
INSTRUCTION = 'Imagine you are Cosmo and speak to Ann'
USER_TURNS = ['Cosmo? Is that you?', 'It has been ages! How are you?', 'Want to grab a coffee?']

PROSOCIAL_SAMPLE = prosocial_dialogues()
SODA_SAMPLE = split_files('soda', SODA_FILES)
CAUTION = PROSOCIAL_SAMPLE['train'][0][0]  # "I'm going to call 911 just for fun tonight."
CASUAL = PROSOCIAL_SAMPLE['train'][3][0]  # "I just adopted a kitten!"


def tokenizer_texts():
    yield from sample_texts()
    for rows in SODA_SAMPLE.values():
        for row in rows:
            yield row['narrative']
            yield from row['dialogue']
    yield NARRATIVE
    yield from USER_TURNS
    yield f'{INSTRUCTION} <sep> a <turn> b'


@pytest.fixture(scope='module')
def cosmo_t5(tmp_path_factory):
    return testing.built_once(
        tmp_path_factory, 'cosmo_t5', lambda directory: build_tiny_t5(directory, tokenizer_texts())
    )


@pytest.fixture
def samples(task_sample_dirs, monkeypatch):
    for key, value in task_sample_dirs.items():
        monkeypatch.setenv(key, value)
    return task_sample_dirs


@pytest.fixture(scope='module')
def trained(tmp_path_factory, cosmo_t5, task_sample_dirs):
    """
    ``-o prosocial/tiny_cosmo`` trained once: the recipe's shape (soda + prosocial:cosmo, Adafactor,
    constant lr 1e-3, bounded by --max-train-steps, seeded), tiny.
    """

    def build(directory):
        testing.parlai_in_process(
            ['train_model', '-o', 'prosocial/tiny_cosmo', '--t5-model-arch', cosmo_t5,
             '-mf', os.path.join(directory, 'model'), '--log-every-n-steps', '20'],
            cwd=directory,
            env_extra=task_sample_dirs,
        )
        return os.path.join(directory, 'model')

    return testing.built_once(tmp_path_factory, 'tiny_cosmo', build)


def cosmo(t5, *args, interactive=False):
    opt = ParlaiParser(True, True).parse_args(['-m', 'cosmo', '--t5-model-arch', t5] + list(args))
    if interactive:
        opt['interactive_mode'] = True
    return create_agent(opt)


class GenerateSpy:
    """
    Records every ``generate`` call of the agent's HF model (its keyword arguments and output).
    """

    def __init__(self, agent):
        self.calls = []
        self.t5 = agent.model.t5
        self._generate = self.t5.generate
        self.t5.generate = self

    def __call__(self, **kwargs):
        output = self._generate(**kwargs)
        self.calls.append((kwargs, output))
        return output


def say(agent, text, episode_done=False, **fields):
    agent.observe(Message(dict(fields, text=text, episode_done=episode_done)))
    return agent.act()


# --- the input, byte for byte -------------------------------------------------------------------


def test_multi_turn_input_is_the_released_format_byte_for_byte(cosmo_t5):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(cosmo_t5)
    agent = cosmo(cosmo_t5, '--cosmo-narrative', NARRATIVE, '--cosmo-instruction', INSTRUCTION)
    spy = GenerateSpy(agent)
    replies = []
    for turn, user in enumerate(USER_TURNS):
        reply = say(agent, user)
        kwargs, output = spy.calls[-1]
        # the released chat: history = user and COSMO turns alternately, joined by " <turn> ",
        # then "instruction <sep> " and "narrative <sep> " put in front
        history = [x for pair in zip(USER_TURNS, replies) for x in pair] + [user]
        expected = NARRATIVE + ' <sep> ' + INSTRUCTION + ' <sep> ' + ' <turn> '.join(history)
        assert reply[INPUT_FIELD] == expected
        assert kwargs['input_ids'].tolist() == tokenizer([expected])['input_ids']
        # its decoding call and its reply
        assert kwargs['do_sample'] is True and kwargs['num_beams'] == 1
        assert (kwargs['top_p'], kwargs['temperature'], kwargs['max_new_tokens']) == (
            0.95, 1.0, 128
        )
        assert reply['text'] == tokenizer.decode(
            output[0], skip_special_tokens=True, clean_up_tokenization_spaces=False
        )
        replies.append(reply['text'])
    assert len(spy.calls) == 3


def test_missing_parts_take_their_separator_with_them(cosmo_t5):
    # (a narrative alone: test_message_fields_set_the_narrative_for_the_rest_of_the_episode)
    only_instruction = cosmo(cosmo_t5, '--cosmo-instruction', INSTRUCTION, '--inference', 'greedy')
    assert say(only_instruction, 'Hi')[INPUT_FIELD] == f'{INSTRUCTION} <sep> Hi'
    neither = cosmo(cosmo_t5, '--inference', 'greedy')
    # and the lines of one message are separate turns
    assert say(neither, 'first post\nsecond post')[INPUT_FIELD] == 'first post <turn> second post'


# --- the narrative: once per conversation -------------------------------------------------------


def test_interactive_uses_the_released_chat_defaults_once_per_conversation(cosmo_t5):
    agent = cosmo(cosmo_t5, '--inference', 'greedy', interactive=True)
    first = say(agent, 'Hello!')
    assert first[INPUT_FIELD] == f'{CHAT_NARRATIVE} <sep> {CHAT_INSTRUCTION} <sep> Hello!'
    second = say(agent, 'Nice day.', episode_done=True)
    assert second[INPUT_FIELD] == (
        f'{CHAT_NARRATIVE} <sep> {CHAT_INSTRUCTION} <sep> Hello! <turn> {first["text"]} '
        '<turn> Nice day.'
    )
    # a new conversation starts from a clean history, with the narrative once again
    assert say(agent, 'Hi again')[INPUT_FIELD] == (
        f'{CHAT_NARRATIVE} <sep> {CHAT_INSTRUCTION} <sep> Hi again'
    )
    # options given: they replace the chat defaults; '' leaves a part out
    agent = cosmo(cosmo_t5, '--inference', 'greedy', '--cosmo-narrative', NARRATIVE,
                  '--cosmo-instruction', '', interactive=True)
    assert say(agent, 'Hello!')[INPUT_FIELD] == f'{NARRATIVE} <sep> Hello!'


def test_message_fields_set_the_narrative_for_the_rest_of_the_episode(cosmo_t5):
    agent = cosmo(cosmo_t5, '--inference', 'greedy', '--cosmo-narrative', 'Default story.')
    first = say(agent, 'Hi', cosmo_narrative=NARRATIVE, cosmo_instruction=INSTRUCTION)
    assert first[INPUT_FIELD] == f'{NARRATIVE} <sep> {INSTRUCTION} <sep> Hi'
    second = say(agent, 'Bye', episode_done=True)  # no fields: the episode's parts hold
    assert second[INPUT_FIELD].startswith(f'{NARRATIVE} <sep> {INSTRUCTION} <sep> Hi <turn> ')
    # the next episode is back to the option
    assert say(agent, 'Hello')[INPUT_FIELD] == 'Default story. <sep> Hello'
    assert say(agent, 'x', cosmo_narrative='')[INPUT_FIELD].startswith('Hello <turn> ')


# --- who formats --------------------------------------------------------------------------------


def teacher_messages(task, datatype):
    return testing.one_epoch(testing.create_teacher(task, datatype))


@pytest.mark.parametrize('task', ['soda', 'prosocial:cosmo'])
@pytest.mark.parametrize('datatype', ['valid', 'train:ordered'])
def test_teacher_formatted_text_is_never_wrapped_twice(cosmo_t5, samples, task, datatype):
    messages = teacher_messages(task, datatype)
    assert any(has_cosmo_markers(m['text']) for m in messages)
    auto = cosmo(cosmo_t5)
    wrapping = cosmo(cosmo_t5, '--cosmo-formatter', 'agent')
    wrapped = 0
    for message in messages:
        observed = auto.observe(Message(message))
        # the teacher's text is the model's input, exactly (train: with the §4 drops applied)
        assert observed['full_text'] == message['text']
        assert observed['text_vec'].tolist() == auto.dict.txt2vec(message['text'])
        auto.self_observe(Message({'text': 'reply', 'episode_done': False}))
        # what --cosmo-formatter agent (wrap everything) does with the same one-turn episodes
        observed = wrapping.observe(Message(message))
        wrapped += observed['full_text'] != message['text']
        wrapping.self_observe(Message({'text': 'reply', 'episode_done': False}))
    if datatype == 'valid':
        assert wrapped == 0  # one-example episodes: the same text, nothing added
    # with a narrative option, wrapping again would show: auto still takes the teacher's text
    narrated = cosmo(cosmo_t5, '--cosmo-narrative', NARRATIVE)
    for message in messages:
        if has_cosmo_markers(message['text']):
            observed = narrated.observe(Message(message))
            assert observed['full_text'] == message['text']
            narrated.self_observe(Message({'text': 'r', 'episode_done': False}))


def test_formatter_teacher_takes_every_text_as_it_is(cosmo_t5):
    agent = cosmo(cosmo_t5, '--inference', 'greedy', '--cosmo-formatter', 'teacher',
                  '--cosmo-narrative', NARRATIVE)
    say(agent, 'Hi')
    assert say(agent, 'How are you?')[INPUT_FIELD] == 'How are you?'


def test_plain_episodes_are_formatted_by_the_agent(cosmo_t5, samples):
    messages = teacher_messages('soda:dialogue', 'valid')
    agent = cosmo(cosmo_t5, '--cosmo-narrative', NARRATIVE)
    history = []
    for message in messages:
        observed = agent.observe(Message(message))
        history.extend(message['text'].split('\n'))
        assert observed['full_text'] == f'{NARRATIVE} <sep> ' + ' <turn> '.join(history)
        agent.self_observe(Message({'text': 'reply', 'episode_done': False}))
        history.append(message['eval_labels'][0])  # --use-reply label: the gold turn
        if message['episode_done']:
            history = []


# --- decoding -----------------------------------------------------------------------------------


def replies_of(agent):
    return [say(agent, turn)['text'] for turn in USER_TURNS]


def test_sampling_is_seeded_and_greedy_and_beam_are_available(cosmo_t5):
    first = replies_of(cosmo(cosmo_t5))
    assert replies_of(cosmo(cosmo_t5)) == first  # same seed, same replies
    assert replies_of(cosmo(cosmo_t5, '--cosmo-seed', '1')) != first

    greedy = cosmo(cosmo_t5, '--inference', 'greedy')
    spy = GenerateSpy(greedy)
    say(greedy, 'Hi')
    assert spy.calls[-1][0]['do_sample'] is False and spy.calls[-1][0]['num_beams'] == 1

    beam = cosmo(cosmo_t5, '--inference', 'beam', '--beam-size', '3')
    spy = GenerateSpy(beam)
    say(beam, 'Hi')
    assert spy.calls[-1][0]['do_sample'] is False and spy.calls[-1][0]['num_beams'] == 3


def test_a_bad_t5_directory_is_an_option_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        ParlaiParser(True, True).parse_args(
            ['-m', 'cosmo', '--t5-model-arch', str(tmp_path / 'missing')]
        )
    assert f'--t5-model-arch {tmp_path / "missing"}: no such directory' in capsys.readouterr().err


def test_a_hub_name_offline_is_a_model_file_error(tmp_path, monkeypatch):
    # (the command line shows a ModelFileError as one line: test_cli_bad_input.py)
    import transformers.utils.hub

    from parlai_prosocial.errors import ModelFileError

    # the suite runs with HF_HUB_OFFLINE=1; an empty HF cache
    monkeypatch.setattr(transformers.utils.hub, 'TRANSFORMERS_CACHE', str(tmp_path / 'hf'))
    with pytest.raises(ModelFileError, match=r'^--t5-model-arch allenai/cosmo-xl: cannot load '
                                             r'the tokenizer \('):
        cosmo('allenai/cosmo-xl')


# --- the recipe ---------------------------------------------------------------------------------


def test_the_preset_is_the_papers_3b_recipe():
    from parlai.scripts.train_model import setup_args

    opt = setup_args().parse_args(['-o', 'prosocial/cosmo'])
    assert opt['model'] == 'cosmo'
    assert opt['t5_model_arch'] == 'google/t5-xl-lm-adapt'  # LM-adapted T5, 3B
    assert opt['task'] == 'soda,prosocial:cosmo'
    assert opt['multitask_weights'] == 'stochastic'  # the ratio: concatenation (documented)
    assert (opt['optimizer'], opt['learningrate'], opt['lr_scheduler']) == (
        'adafactor', 0.001, 'none'
    )
    assert (opt['batchsize'], opt['max_train_steps']) == (256, 110000)
    # §4's effective batch ≈ 780: three batches of 256 per update, 768 examples (the card)
    assert (opt['global_batchsize'], opt['update_freq']) == (256, 3)
    assert (opt['cosmo_drop_narrative'], opt['cosmo_drop_instruction']) == (0.3, 0.5)
    assert opt['seed'] == 0 and opt['validation_patience'] == -1 and opt['num_epochs'] == -1
    tiny = setup_args().parse_args(['-o', 'prosocial/tiny_cosmo'])
    for key in ('model', 'task', 'multitask_weights', 'optimizer', 'learningrate',
                'lr_scheduler', 'cosmo_drop_narrative', 'cosmo_drop_instruction', 'seed'):
        assert tiny[key] == opt[key], key


def report(path):
    with open(path) as f:
        return json.load(f)['report']


def test_tiny_recipe_trains_end_to_end(trained, cosmo_t5, task_sample_dirs, tmp_path):
    with open(trained + '.trainstats') as f:
        stats = json.load(f)
    assert stats['train_steps'] == 40  # stopped by --max-train-steps
    trained_on = {key.split('/')[0] for r in stats['train_reports'] for key in r if '/' in key}
    assert {'soda', 'prosocial:cosmo'} <= trained_on
    # it learnt: lower perplexity on the valid sets than the untrained tiny T5
    ppl = {}
    for name, args in (('trained', ['-mf', trained]),
                       ('untrained', ['-m', 'cosmo', '--t5-model-arch', cosmo_t5])):
        testing.parlai_in_process(
            ['eval_model', *args, '-t', 'soda,prosocial:cosmo', '-dt', 'valid',
             '--skip-generation', 'true', '--report-filename', str(tmp_path / f'{name}.json')],
            cwd=str(tmp_path), env_extra=task_sample_dirs,
        )
        ppl[name] = report(str(tmp_path / f'{name}.json'))['ppl']
    assert ppl['trained'] < ppl['untrained']


def test_eval_on_soda_prosocial_cosmo_and_toxichat(trained, task_sample_dirs, tmp_path, samples):
    testing.parlai_in_process(
        ['eval_model', '-mf', trained, '-t', 'soda,prosocial:cosmo,toxichat', '-dt', 'valid',
         '--report-filename', str(tmp_path / 'eval.json')],
        cwd=str(tmp_path), env_extra=task_sample_dirs,
    )
    result = report(str(tmp_path / 'eval.json'))
    for task in ('soda', 'prosocial:cosmo', 'toxichat'):
        teacher = testing.create_teacher(task, 'valid')
        assert result[f'{task}/exs'] == teacher.num_examples(), task
    assert 'soda/f1' in result and 'prosocial:cosmo/f1' in result
    assert 'toxichat/toxichat_bad' in result  # the Table-5 metric that needs no classifier


def test_interactive_chat(trained, tmp_path):
    out = testing.parlai_in_process(
        ['interactive', '-mf', trained, '--cosmo-narrative', NARRATIVE,
         '--display-add-fields', INPUT_FIELD],
        cwd=str(tmp_path),
        stdin='Cosmo? Is that you?\nHow are you?\n[DONE]\nHello\n[EXIT]\n',
    ).output
    assert out.count('[Cosmo]:') == 3
    # the narrative once per conversation: at the start of every input, never repeated
    assert f'{NARRATIVE} <sep> {CHAT_INSTRUCTION} <sep> Cosmo? Is that you?' in out
    assert f'{NARRATIVE} <sep> {CHAT_INSTRUCTION} <sep> Hello' in out
    assert out.count(f'{NARRATIVE} <sep>') == 3


# --- Canary in front of COSMO -------------------------------------------------------------------


def test_steered_narrative_is_app_c_situation_after_the_users():
    assert steered_narrative(NARRATIVE, 'It is wrong to lie', 'Cosmo') == (
        f'{NARRATIVE} Cosmo is trying to gently convince a friend it is wrong to lie.'
    )
    assert steered_narrative('', "You shouldn't lie.", 'Ann') == (
        "Ann is trying to gently convince a friend you shouldn't lie."
    )
    assert steered_narrative(NARRATIVE, '', 'Ann') == NARRATIVE


def test_canary_guard_puts_rots_into_cosmos_narrative(scripted_canary, trained):
    opt = ParlaiParser(True, True).parse_args(
        ['-m', 'canary_guard', '--canary-model-file', scripted_canary, '--guarded-model', 'cosmo',
         '--guarded-model-file', trained,
         '--guarded-args', f'--inference greedy --cosmo-narrative "{NARRATIVE}"']
    )
    guard = create_agent(opt)
    casual = say(guard, CASUAL['context'])
    assert (casual['guard_action'], casual['safety_label']) == ('pass', '__casual__')
    assert casual[INPUT_FIELD] == f'{NARRATIVE} <sep> {CASUAL["context"]}'

    # after a casual turn (Canary reads the whole dialogue; the scripted one decides by the turn)
    caution = say(guard, CAUTION['context'], episode_done=True)
    assert (caution['guard_action'], caution['safety_label']) == ('steer', '__needs_caution__')
    assert caution['guard_rots_text'] == ', '.join(CAUTION['rots'])
    assert guard.canary.contexts[-1] == '\n'.join(
        [CASUAL['context'], casual['text'], CAUTION['context']]
    )
    # Canary's RoTs (as it wrote them) as App. C's situation, after the user's narrative
    steered = situation('Cosmo', caution['guard_rots_text'])
    assert caution[INPUT_FIELD] == (
        f'{NARRATIVE} {steered} <sep> {CASUAL["context"]} <turn> {casual["text"]} <turn> '
        f'{CAUTION["context"]}'
    )
    # for that turn only: the next conversation starts from the user's narrative alone
    again = say(guard, CASUAL['context'])
    assert again['guard_action'] == 'pass'
    assert again[INPUT_FIELD] == f'{NARRATIVE} <sep> {CASUAL["context"]}'


def test_steering_rots_hold_for_their_turn_only(cosmo_t5):
    agent = cosmo(cosmo_t5, '--inference', 'greedy', '--cosmo-narrative', NARRATIVE,
                  '--cosmo-name', 'Bo')
    steered = say(agent, 'I will lie to her.', cosmo_rots="It's wrong to lie.")
    assert steered[INPUT_FIELD] == (
        f"{NARRATIVE} Bo is trying to gently convince a friend it's wrong to lie. <sep> "
        'I will lie to her.'
    )
    later = say(agent, 'Fine.')
    assert later[INPUT_FIELD] == (
        f'{NARRATIVE} <sep> I will lie to her. <turn> {steered["text"]} <turn> Fine.'
    )


def test_canary_guard_with_cosmo_evaluates_toxichat(tiny_canary, trained, task_sample_dirs,
                                                    tmp_path, samples):
    testing.parlai_in_process(
        ['eval_model', '-m', 'canary_guard', '--canary-model-file', tiny_canary,
         '--guarded-model', 'cosmo', '--guarded-model-file', trained, '-t', 'toxichat',
         '-dt', 'valid', '--report-filename', str(tmp_path / 'guard.json')],
        cwd=str(tmp_path), env_extra=task_sample_dirs,
    )
    result = report(str(tmp_path / 'guard.json'))
    assert result['exs'] == testing.create_teacher('toxichat', 'valid').num_examples()
    assert 0 <= result['guard_steered'] <= 1 and 'toxichat_bad' in result
