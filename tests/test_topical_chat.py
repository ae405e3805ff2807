"""
The Topical-Chat teacher: messages and episodes on the hand-written sample (spelled out, and built
here from the sample's files independently of the teacher's code), bad input, the download build
(without network), ``parlai display_data`` (in this process), and the real release files when they
are present.
"""

import hashlib
import json
import os

import pytest

from parlai.core import build_data

from parlai_prosocial.tasks.topical_chat import build
from parlai_prosocial.tasks.topical_chat.data import TopicalChatDataError, read_conversations
from parlai_prosocial.samples import write_sample

from parlai_prosocial.testing import (
    DATATYPES,
    create_teacher,
    episodes_of,
    one_epoch,
    parlai_in_process,
)
from parlai_prosocial.testing.samples import read_sample_file


SPEAKERS = ['agent_2', 'agent_1', 'both']
SPLIT_FILES = {
    'train': ['train.json'],
    'valid': ['valid_freq.json', 'valid_rare.json'],
    'test': ['test_freq.json', 'test_rare.json'],
}
#: file name -> its conversations
SAMPLE = {
    name: read_sample_file('topical_chat', name) for names in SPLIT_FILES.values() for name in names
}
TRAIN_IDS = list(SAMPLE['train.json'])


@pytest.fixture(autouse=True)
def _no_data_dir_env(monkeypatch):
    monkeypatch.delenv(build.DATA_DIR_ENV, raising=False)


@pytest.fixture(scope='module')
def sample_dir(tmp_path_factory):
    return write_sample('topical_chat', tmp_path_factory.mktemp('topical_chat'))


def make_teacher(data_dir, datatype='train:ordered', task='topical_chat', **kwargs):
    """
    ``data_dir`` '': no --topical-chat-data-dir, i.e. download (an empty value is an error).
    """
    if data_dir != '':
        kwargs['topical_chat_data_dir'] = str(data_dir)
    return create_teacher(task, datatype, **kwargs)


def label_of(message):
    labels = message['labels'] if 'labels' in message else message['eval_labels']
    assert len(labels) == 1
    return labels[0]


def text_label_episodes(messages):
    return [[(m['text'], label_of(m)) for m in e] for e in episodes_of(messages)]


# --- the sample, spelled out --------------------------------------------------------------------

FOOTBALL = [
    'Hi! Do you watch football?',
    'Yes, every Sunday. Did you know the yellow first-down line won an Emmy?',
    'I did not! That line changed how we watch.',
    'It really did. Who is your team?',
    'The Ravens. Nice chatting with you!',
]
ROCK = [
    'Hello! Do you like rock music?',
    'I love it. Whitesnake had over 50 members!',
    'That is a lot of members.  Why so many?',
    'Maybe the tour life was hard.',
]
SIMPSONS = [
    'Do you watch The Simpsons?',
    'Sometimes. Homer held 188 jobs in 400 episodes.',
    'Wow, I thought he only worked at the plant.',
]

SPELLED_OUT_TRAIN = {
    # text = agent_1's turn, label = agent_2's reply; an unanswered last agent_1 turn is left out
    'agent_2': [
        [(FOOTBALL[0], FOOTBALL[1]), (FOOTBALL[2], FOOTBALL[3])],
        [(ROCK[0], ROCK[1]), (ROCK[2], ROCK[3])],
        [(SIMPSONS[0], SIMPSONS[1])],
    ],
    # agent_1's opening turn goes before agent_2's first turn in the first text
    'agent_1': [
        [(FOOTBALL[0] + '\n' + FOOTBALL[1], FOOTBALL[2]), (FOOTBALL[3], FOOTBALL[4])],
        [(ROCK[0] + '\n' + ROCK[1], ROCK[2])],
        [(SIMPSONS[0] + '\n' + SIMPSONS[1], SIMPSONS[2])],
    ],
}
SPELLED_OUT_TRAIN['both'] = [
    episode
    for pair in zip(SPELLED_OUT_TRAIN['agent_2'], SPELLED_OUT_TRAIN['agent_1'])
    for episode in pair
]


@pytest.mark.parametrize('speaker', SPEAKERS)
def test_train_spelled_out(sample_dir, speaker):
    # the texts as cleaned: the raw sample has a trailing space, a trailing " \n", an inner "\n"
    # and a leading "\t" (the stream mode and the counts: test_every_split_and_option)
    raw = [t['message'] for c in SAMPLE['train.json'].values() for t in c['content']]
    assert any(m != m.strip() for m in raw) and any('\n' in m.strip() for m in raw)
    messages = one_epoch(make_teacher(sample_dir, 'train:ordered', topical_chat_speaker=speaker))
    assert text_label_episodes(messages) == SPELLED_OUT_TRAIN[speaker]


def test_test_split_spelled_out(sample_dir):
    # test_freq has a 2-turn conversation: no agent_1 reply, so no agent_1 episode at all
    by_speaker = {
        speaker: text_label_episodes(one_epoch(make_teacher(sample_dir, 'test', **opts)))
        for speaker, opts in [
            ('agent_2', {}),
            ('agent_1', {'topical_chat_speaker': 'agent_1'}),
        ]
    }
    assert by_speaker == {
        'agent_2': [
            [('Do you read fantasy?', 'Yes, mostly modern fantasy.')],
            [('Would you go to Mars?', 'Not for a one-way trip!')],
        ],
        'agent_1': [
            [
                (
                    'Would you go to Mars?\nNot for a one-way trip!',
                    'Fair. The trip takes about seven months.',
                )
            ]
        ],
    }


def test_messages_keep_the_annotations(sample_dir):
    first, second = one_epoch(make_teacher(sample_dir, 'train:ordered'))[:2]
    conversation = SAMPLE['train.json'][TRAIN_IDS[0]]
    assert {k: first[k] for k in first if k not in ('text', 'labels', 'episode_done', 'id')} == {
        'conversation_id': TRAIN_IDS[0],
        'article_url': conversation['article_url'],
        'config': 'A',
        'conversation_rating': {'agent_1': 'Good', 'agent_2': 'Excellent'},
        'speaker': 'agent_2',
        'turn_index': 1,
        # of the label (agent_2's turn 1) ...
        'sentiment': 'Surprised',
        'knowledge_source': ['FS1', 'Personal Knowledge'],
        'turn_rating': 'Excellent',
        # ... and of the text (agent_1's turn 0)
        'text_sentiment': 'Curious to dive deeper',
        'text_knowledge_source': ['FS1'],
        'text_turn_rating': 'Good',
    }
    assert first['id'] == 'topical_chat'
    # the unrated turn of the release keeps its empty rating
    assert second['turn_rating'] == '' and second['turn_index'] == 3


# --- every split and option, built here from SAMPLE ---------------------------------------------


def clean(message):
    # the cleaning the reader documents: strip, and no newline / carriage return / tab inside
    return ' '.join(part.strip() for part in message.strip().replace('\t', '\n').split('\n'))


def expected_episodes(split, speaker, eval_set='both'):
    files = SPLIT_FILES[split]
    if split != 'train' and eval_set != 'both':
        files = [f for f in files if eval_set in f]
    speakers = ['agent_2', 'agent_1'] if speaker == 'both' else [speaker]
    episodes = []
    for name in files:
        for conversation_id, conversation in SAMPLE[name].items():
            messages = [clean(t['message']) for t in conversation['content']]
            for who in speakers:
                episode = []
                for i, turn in enumerate(conversation['content']):
                    if turn['agent'] != who or i == 0:
                        continue
                    text = messages[i - 1]
                    if i == 2 and who == 'agent_1':
                        text = messages[0] + '\n' + text
                    fields = {
                        'conversation_id': conversation_id,
                        'speaker': who,
                        'turn_index': i,
                        'sentiment': turn['sentiment'],
                        'knowledge_source': turn['knowledge_source'],
                        'turn_rating': turn['turn_rating'],
                        'text_sentiment': conversation['content'][i - 1]['sentiment'],
                    }
                    episode.append((text, messages[i], fields))
                if episode:
                    episodes.append(episode)
    return episodes


@pytest.mark.parametrize(
    'datatype, speaker, eval_set',
    [
        (datatype, speaker, eval_set)
        for datatype in DATATYPES
        for speaker in SPEAKERS
        for eval_set in (['both'] if datatype.startswith('train') else ['both', 'freq', 'rare'])
    ]
    + [('train:ordered', 'agent_2', 'rare')],  # train reads train.json whatever the eval set
)
def test_every_split_and_option(sample_dir, datatype, speaker, eval_set):
    teacher = make_teacher(
        sample_dir, datatype, topical_chat_speaker=speaker, topical_chat_eval_set=eval_set
    )
    messages = one_epoch(teacher)
    expected = expected_episodes(datatype.split(':')[0], speaker, eval_set)
    got = [
        [(m['text'], label_of(m), {k: m[k] for k in e[0][2]}) for m in episode]
        for episode, e in zip(episodes_of(messages), expected)
    ]
    assert got == expected
    assert len(episodes_of(messages)) == len(expected)
    assert teacher.num_episodes() == len(expected)
    assert teacher.num_examples() == sum(len(e) for e in expected) == len(messages)
    for episode in episodes_of(messages):
        assert [m['episode_done'] for m in episode] == [False] * (len(episode) - 1) + [True]


def test_task_name_flags_and_named_teacher(sample_dir):
    by_flag = make_teacher(sample_dir, task='topical_chat:topical_chat_speaker=agent_1')
    named = make_teacher(
        sample_dir, task='topical_chat:TopicalChat', topical_chat_speaker='agent_1'
    )
    assert [m['text'] for m in one_epoch(by_flag)] == [m['text'] for m in one_epoch(named)]
    assert by_flag.num_examples() == 4


def test_stream_mode_writes_nothing_into_the_data_dir(tmp_path):
    data_dir = write_sample('topical_chat', tmp_path / 'data')
    before = sorted(os.listdir(data_dir))
    teacher = make_teacher(data_dir, 'valid:stream')
    one_epoch(teacher)
    assert (teacher.num_episodes(), teacher.num_examples()) == (2, 3)
    assert sorted(os.listdir(data_dir)) == before


# --- bad input ----------------------------------------------------------------------------------


def error_of(data_dir, datatype='train:ordered', **kwargs):
    with pytest.raises(TopicalChatDataError) as info:
        make_teacher(data_dir, datatype, **kwargs)
    return str(info.value)


def read_error(path):
    # the tables below go through the reader; that a teacher raises its errors is
    # test_edited_file_is_read_again's
    with pytest.raises(TopicalChatDataError) as info:
        read_conversations(str(path))
    return str(info.value)


def edited(data_dir, name, edit):
    """
    The sample's file ``name``, changed by ``edit``, written into ``data_dir``.
    """
    data = json.loads(json.dumps(SAMPLE[name]))
    edit(data)
    path = os.path.join(str(data_dir), name)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(data, f, indent=2)
    return path


def write_raw(data_dir, name, text):
    path = os.path.join(str(data_dir), name)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
    return path


def test_missing_file(tmp_path):
    nowhere = tmp_path / 'nowhere'
    assert error_of(nowhere) == f'{nowhere / "train.json"}: no such file'
    write_sample('topical_chat', tmp_path)
    rare = os.path.join(str(tmp_path), 'valid_rare.json')
    os.remove(rare)
    assert error_of(tmp_path, 'valid') == f'{rare}: no such file'
    # the freq set alone does not need it, and train reads only train.json
    assert make_teacher(tmp_path, 'valid', topical_chat_eval_set='freq').num_examples() == 2
    assert make_teacher(tmp_path, 'train').num_examples() == 5


def test_only_the_files_of_the_split_are_read(tmp_path):
    write_sample('topical_chat', tmp_path)
    write_raw(tmp_path, 'train.json', '{"broken": ')
    assert make_teacher(tmp_path, 'test').num_examples() == 2


# (not valid JSON: the shared load_json_file, test_readers_bad_input's test_prosocial_whole_file)
@pytest.mark.parametrize(
    'text, wanted',
    [
        ('  \n', 'the file is empty'),
        (
            'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 1\n',
            'this is a Git LFS pointer, not the data',
        ),
        ('[]', 'expected a JSON object keyed by conversation id, got list'),
    ],
)
def test_not_a_conversation_file(tmp_path, text, wanted):
    path = write_raw(tmp_path, 'train.json', text)
    message = read_error(path)
    assert message.startswith(f'{path}: {wanted}'), message


VALID_ID = 't_00000000-0000-4000-8000-000000000011'


@pytest.mark.parametrize(
    'edit, wanted',
    [
        (lambda c, f=field: c.pop(f), f': missing field "{field}"')
        for field in ['article_url', 'config', 'content']
    ]
    + [
        (lambda c, f=field: c['content'][1].pop(f), f', turn 1: missing field "{field}"')
        for field in ['message', 'agent', 'sentiment', 'knowledge_source', 'turn_rating']
    ]
    + [
        (
            lambda c: c['content'][2].update(knowledge_source='FS1'),
            ", turn 2: field \"knowledge_source\" is 'FS1', expected a list of strings",
        ),
        (
            lambda c: c['content'][0].update(message=None),
            ', turn 0: field "message" is None, expected a string',
        ),
        (  # a long value is shown cut short
            lambda c: c['content'][0].update(message=['m' * 100]),
            f", turn 0: field \"message\" is ['{'m' * 75}..., expected a string",
        ),
        (
            lambda c: c['content'][3].update(agent='agent_3'),
            ", turn 3: field \"agent\" is 'agent_3', expected \"agent_1\" or \"agent_2\"",
        ),
        (
            lambda c: c['content'][3].update(agent='agent_1'),
            ", turn 3: field \"agent\" is 'agent_1', expected 'agent_2' (turns must alternate, "
            'starting with agent_1)',
        ),
        (
            lambda c: c['content'].pop(0),
            ", turn 0: field \"agent\" is 'agent_2', expected 'agent_1' (turns must alternate, "
            'starting with agent_1)',
        ),
        (lambda c: c['content'].__setitem__(1, 'hi'), ', turn 1: expected a JSON object, got str'),
        (
            lambda c: c.update(content=[]),
            ': field "content" is [], expected a non-empty list of turns',
        ),
        (lambda c: c.update(config=4), ': field "config" is 4, expected a string'),
        (
            lambda c: c.update(conversation_rating='Good'),
            ": field \"conversation_rating\" is 'Good', expected a JSON object",
        ),
    ],
)
def test_bad_field(tmp_path, edit, wanted):
    path = edited(tmp_path, 'valid_freq.json', lambda d: edit(d[VALID_ID]))
    assert read_error(path) == f'{path}: conversation {VALID_ID}{wanted}'


def test_conversation_not_an_object(tmp_path):
    path = edited(tmp_path, 'test_rare.json', lambda d: d.update({'t_x': ['hello']}))
    assert read_error(path) == f'{path}: conversation t_x: expected a JSON object, got list'


def test_conversation_rating_is_optional(tmp_path):
    write_sample('topical_chat', tmp_path)
    edited(tmp_path, 'test_rare.json', lambda d: [c.pop('conversation_rating') for c in d.values()])
    messages = one_epoch(make_teacher(tmp_path, 'test', topical_chat_eval_set='rare'))
    assert [m['conversation_rating'] for m in messages] == [None]


def test_edited_file_is_read_again(tmp_path):
    # the teacher caches parsed files; an edited file must not be served from the cache
    write_sample('topical_chat', tmp_path)
    assert make_teacher(tmp_path).num_examples() == 5
    path = edited(tmp_path, 'train.json', lambda d: d[TRAIN_IDS[0]].pop('config'))
    assert error_of(tmp_path) == f'{path}: conversation {TRAIN_IDS[0]}: missing field "config"'


def test_display_data(sample_dir, tmp_path):
    result = parlai_in_process(
        ['display_data', '-t', 'topical_chat', '-dt', 'valid']
        + ['--topical-chat-data-dir', sample_dir],
        cwd=str(tmp_path),
    )
    # ParlAI logs to stdout too: keep the lines after "creating task(s)" that are not log lines
    lines = result.output.split('creating task(s): topical_chat', 1)[1].splitlines()[1:]
    shown = [line.strip() for line in lines if line.strip() and ' INFO ' not in line]
    assert shown == [
        '- - - NEW EPISODE: topical_chat - - -',
        'Hey, is your phone new?',
        'No, it is four years old.',
        'Mine too. Batteries last longer now.',
        'True, and the cameras are better.',
        '- - - NEW EPISODE: topical_chat - - -',
        'Do you wear hats?',
        'Only in winter.  It gets cold here.',
    ], result.output
    assert 'loaded 2 episodes with a total of 3 examples' in result.output


# --- the download build, without network --------------------------------------------------------


@pytest.fixture
def fake_downloads(monkeypatch, tmp_path):
    """
    Serve the sample's files instead of the network; ``served['train.json']`` may be replaced.
    """
    source = write_sample('topical_chat', tmp_path / 'upstream')
    served = {name: os.path.join(source, name) for name in SAMPLE}
    calls = []

    def fetch(url, target, sha256=None, size=None, **kwargs):
        name = os.path.basename(target)
        assert url == build.URL.format(name)
        assert sha256 == build.SHA256.get(name)
        calls.append(name)
        with open(served[name], 'rb') as f, open(target, 'wb') as out:
            out.write(f.read())

    monkeypatch.setattr(build, 'fetch', fetch)
    monkeypatch.delenv(build.DATA_DIR_ENV, raising=False)
    sample_counts = (len(SAMPLE['train.json']), 12)
    monkeypatch.setattr(build, 'TRAIN_COUNTS', sample_counts)
    return {'served': served, 'calls': calls, 'datapath': str(tmp_path / 'datapath')}


def test_download_build(fake_downloads):
    datapath = fake_downloads['datapath']
    teacher = make_teacher('', 'valid', datapath=datapath)
    dpath = os.path.join(datapath, 'topical_chat')
    assert teacher.num_examples() == 3
    assert sorted(fake_downloads['calls']) == sorted(SAMPLE)
    assert build_data.built(dpath, build.VERSION)
    # built once: no second download
    make_teacher('', 'train', datapath=datapath)
    assert len(fake_downloads['calls']) == len(SAMPLE)


def test_bad_train_download_is_not_marked_built(fake_downloads, tmp_path):
    truncated = tmp_path / 'truncated.json'
    with open(fake_downloads['served']['train.json'], encoding='utf-8') as f:
        truncated.write_text(f.read()[:500], encoding='utf-8')
    fake_downloads['served']['train.json'] = str(truncated)
    datapath = fake_downloads['datapath']
    dpath = os.path.join(datapath, 'topical_chat')
    with pytest.raises(TopicalChatDataError, match='not valid JSON'):
        make_teacher('', 'valid', datapath=datapath)
    assert not os.path.exists(os.path.join(dpath, '.built'))


def test_train_with_other_counts_is_refused(fake_downloads, monkeypatch):
    monkeypatch.setattr(build, 'TRAIN_COUNTS', (8628, 188378))
    datapath = fake_downloads['datapath']
    with pytest.raises(TopicalChatDataError) as info:
        make_teacher('', 'valid', datapath=datapath)
    assert str(info.value) == (
        f'{os.path.join(datapath, "topical_chat", "train.json")}: 3 conversations and 12 turns, '
        'but the release has 8628 and 188378; the download is incomplete or the upstream file '
        'changed. Give checked files with --topical-chat-data-dir.'
    )
    assert not build_data.built(os.path.join(datapath, 'topical_chat'))


def test_local_dir_never_downloads(sample_dir, fake_downloads):
    make_teacher(sample_dir, 'valid', datapath=fake_downloads['datapath'])
    assert fake_downloads['calls'] == []


def test_valid_test_checksums_are_pinned():
    assert list(build.SHA256) == [
        'valid_freq.json',
        'valid_rare.json',
        'test_freq.json',
        'test_rare.json',
    ]
    assert build.URL.format('x') == (
        'https://raw.githubusercontent.com/alexa/Topical-Chat/master/conversations/x'
    )
    assert all(len(sha256) == 64 for sha256 in build.SHA256.values())


# --- the real release files (skipped when absent) ----------------------------------------------

@pytest.fixture(scope='module')
def real_dir(real_data):
    return real_data('topical-chat')


#: the release README's "Data Statistics" (conversations, utterances)
README_COUNTS = {
    'valid_freq.json': (539, 11681),
    'valid_rare.json': (539, 11692),
    'test_freq.json': (539, 11760),
    'test_rare.json': (539, 11770),
}


@pytest.fixture(scope='module')
def real_raw(real_dir):
    raw = {}
    for name in README_COUNTS:
        with open(os.path.join(real_dir, name), encoding='utf-8') as f:
            raw[name] = json.load(f)
    return raw


def test_real_files_match_the_pinned_checksums(real_dir):
    for name, sha256 in build.SHA256.items():
        with open(os.path.join(real_dir, name), 'rb') as f:
            assert hashlib.sha256(f.read()).hexdigest() == sha256


def test_real_files_read(real_dir, real_raw):
    for name, counts in README_COUNTS.items():
        conversations = read_conversations(os.path.join(real_dir, name))
        assert (len(conversations), sum(len(c['turns']) for c in conversations)) == counts
        assert [c['conversation_id'] for c in conversations] == list(real_raw[name])


@pytest.mark.parametrize('split', ['valid', 'test'])
def test_real_counts(real_dir, real_raw, split):
    lengths = {
        eval_set: [len(c['content']) for c in real_raw[f'{split}_{eval_set}.json'].values()]
        for eval_set in ['freq', 'rare']
    }
    lengths['both'] = lengths['freq'] + lengths['rare']
    for eval_set, turns in lengths.items():
        # every conversation has >= 3 turns, so one episode per conversation and speaker
        assert min(turns) >= 3
        expected = {
            'agent_2': (len(turns), sum(n // 2 for n in turns)),
            'agent_1': (len(turns), sum((n - 1) // 2 for n in turns)),
        }
        expected['both'] = tuple(a + b for a, b in zip(expected['agent_2'], expected['agent_1']))
        for speaker, counts in expected.items():
            teacher = make_teacher(
                real_dir,
                split,
                topical_chat_speaker=speaker,
                topical_chat_eval_set=eval_set,
            )
            assert (teacher.num_episodes(), teacher.num_examples()) == counts, (eval_set, speaker)


def test_real_valid_freq_epoch(real_dir, real_raw):
    messages = one_epoch(make_teacher(real_dir, 'valid:stream', topical_chat_eval_set='freq'))
    conversations = real_raw['valid_freq.json']
    episodes = episodes_of(messages)
    assert len(episodes) == 539
    assert len(messages) == sum(len(c['content']) // 2 for c in conversations.values())
    for episode, (conversation_id, conversation) in zip(episodes, conversations.items()):
        content = conversation['content']
        assert {m['conversation_id'] for m in episode} == {conversation_id}
        assert [m['turn_index'] for m in episode] == list(range(1, len(content), 2))
        for m in episode:
            label_turn, text_turn = content[m['turn_index']], content[m['turn_index'] - 1]
            assert label_of(m) == clean(label_turn['message'])
            assert m['text'] == clean(text_turn['message'])
            assert m['knowledge_source'] == label_turn['knowledge_source']
            assert m['text_sentiment'] == text_turn['sentiment']
            assert m['article_url'] == conversation['article_url']
    first = messages[0]
    assert first['text'] == 'Are you a football fan?'
    assert label_of(first) == "yes, I'm. a football fan."
