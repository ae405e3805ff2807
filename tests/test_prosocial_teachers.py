"""
The ProsocialDialog teachers, message by message, against the hand-written sample.

Every teacher is run over whole epochs of ``train:ordered``, ``valid``, ``test`` and their
``:stream`` variants, on the sample written in both official layouts (HF JSON Lines and the direct
download's list of dialogues); the expected messages are built here from the sample's rows,
independently of the teachers' code. Also: the episode boundaries that ParlAI's built-in
``prosocial_dialog`` teacher gets wrong, and ``parlai display_data`` / ``verify_data``.
"""

import ast
import json

import pytest

from parlai.core.build_data import mark_done
from parlai.scripts.verify_data import VerifyData

from parlai_prosocial.tasks.prosocial.data import read_dialogues
from parlai_prosocial.samples import write_sample

from parlai_prosocial import testing
from parlai_prosocial.testing import DATATYPES, create_teacher, episodes_of, one_epoch, teacher_opt
from parlai_prosocial.testing.samples import PROSOCIAL_LAYOUTS as LAYOUTS
from parlai_prosocial.testing.samples import prosocial_dialogues, read_sample_file

SAMPLE = prosocial_dialogues()
FIVE = [
    '__casual__',
    '__possibly_needs_caution__',
    '__probably_needs_caution__',
    '__needs_caution__',
    '__needs_intervention__',
]
THREE = ['__casual__', '__needs_caution__', '__needs_intervention__']
TO_THREE = {
    '__casual__': '__casual__',
    '__possibly_needs_caution__': '__needs_caution__',
    '__probably_needs_caution__': '__needs_caution__',
    '__needs_caution__': '__needs_caution__',
    '__needs_intervention__': '__needs_intervention__',
}

# task -> extra options, for every teacher and schema
TEACHERS = {
    'prosocial': {},
    'prosocial:response': {},
    'prosocial:rot_response': {},
    'prosocial:safety': {},
    'prosocial:safety_classification': {},
    'prosocial:safety_classification/three': {'safety_schema': 'three'},
}


@pytest.fixture(scope='module')
def sample_dirs(tmp_path_factory):
    return {
        layout: write_sample(name, tmp_path_factory.mktemp(f'sample_{layout}'))
        for layout, name in LAYOUTS.items()
    }


def make_opt(task, datatype, data_dir, **kwargs):
    return teacher_opt(task, datatype, prosocial_data_dir=str(data_dir), **kwargs)


def make_teacher(task, datatype, data_dir, **kwargs):
    return create_teacher(task, datatype, prosocial_data_dir=str(data_dir), **kwargs)


def task_and_opts(teacher_key):
    return teacher_key.split('/')[0], TEACHERS[teacher_key]


# --- what each teacher should say, straight from SAMPLE ---------------------------------------


def rot_response(turn, casual_rots='drop'):
    if not turn['rots'] or (turn['safety_label'] == '__casual__' and casual_rots == 'drop'):
        return turn['response']
    return ' '.join(turn['rots']) + ' __endrots__ ' + turn['response']


def safety(turn, three=False):
    label = TO_THREE[turn['safety_label']] if three else turn['safety_label']
    if label == '__casual__':
        return '__casual__'
    assert turn['rots'], 'the sample gives RoTs to every non-casual turn'
    return label + ' ' + ', '.join(turn['rots'])


def expected_episodes(teacher_key, split):
    """
    Episodes of (text, label, extra fields, annotation fields) for ``split`` of the sample.
    """
    task = teacher_key.split('/')[0]
    three = teacher_key.endswith('/three')
    safety_teacher = task.startswith('prosocial:safety')
    episodes = []
    for dialogue_id, dialogue in enumerate(SAMPLE[split]):
        history = []
        episode = []
        for response_id, turn in enumerate(dialogue):
            annotations = {
                'response': turn['response'],
                'rots': list(turn['rots'] or []),
                'safety_label': turn['safety_label'],
                'safety_annotations': turn['safety_annotations'],
                'safety_annotation_reasons': turn['safety_annotation_reasons'],
                'source': turn['source'],
                'etc': turn['etc'],
                'dialogue_id': dialogue_id,
                'response_id': response_id,
            }
            extra = {}
            if task in ('prosocial', 'prosocial:response'):
                text, label = turn['context'], turn['response']
            elif task == 'prosocial:rot_response':
                text, label = turn['context'], rot_response(turn)
            else:
                text = '\n'.join(history + [turn['context']])
                history += [turn['context'], turn['response']]
                if task == 'prosocial:safety':
                    label = safety(turn, three)
                else:
                    label = TO_THREE[turn['safety_label']] if three else turn['safety_label']
                    extra = {'label_candidates': THREE if three else FIVE}
            example = (text, label, extra, annotations)
            if safety_teacher:
                episodes.append([example])
            else:
                episode.append(example)
        if not safety_teacher:
            episodes.append(episode)
    return episodes


# --- the teachers, message by message ----------------------------------------------------------


@pytest.mark.parametrize('layout', list(LAYOUTS))
@pytest.mark.parametrize('datatype', DATATYPES)
@pytest.mark.parametrize('teacher_key', list(TEACHERS))
def test_teacher_messages(teacher_key, datatype, layout, sample_dirs):
    task, opts = task_and_opts(teacher_key)
    split = datatype.split(':')[0]
    teacher = make_teacher(task, datatype, sample_dirs[layout], **opts)
    expected = expected_episodes(teacher_key, split)

    got = episodes_of(one_epoch(teacher))
    assert [len(e) for e in got] == [len(e) for e in expected]
    label_key = 'labels' if split == 'train' else 'eval_labels'
    for got_episode, expected_episode in zip(got, expected):
        for message, (text, label, extra, annotations) in zip(got_episode, expected_episode):
            assert message['text'] == text
            assert list(message[label_key]) == [label]
            assert ('labels' in message) == (split == 'train')
            for field, value in annotations.items():
                assert message[field] == value, field
            if extra:
                assert list(message['label_candidates']) == extra['label_candidates']
                assert label in message['label_candidates']
            else:
                assert 'label_candidates' not in message
            assert message['id'] == 'prosocial'
            # exactly these fields, whichever reader (fast or strict) built the turn
            assert set(message) == {'text', label_key, 'episode_done', 'id'} | set(
                annotations
            ) | set(extra)

    assert teacher.num_episodes() == len(expected)
    assert teacher.num_examples() == sum(len(e) for e in expected)


def test_expected_targets_spelled_out():
    """
    The target formats on literal strings, so the helpers above are not the only definition.
    """
    first, second, last = SAMPLE['train'][0]
    assert rot_response(first) == (
        'It is wrong to call 911 just for fun. __endrots__ '
        "Please don't. Emergency lines are for people in real danger. Why do you want to?"
    )
    assert rot_response(second).startswith(
        "You shouldn't waste emergency services' time. It's wrong to scare people. __endrots__ "
    )
    assert rot_response(last) == 'That sounds like a much better idea. Have fun!'  # rots: None
    assert rot_response(SAMPLE['train'][3][1]) == 'Mochi is a lovely name.'  # rots: []
    assert safety(second) == (
        "__needs_caution__ You shouldn't waste emergency services' time., "
        "It's wrong to scare people."
    )
    assert safety(last) == '__casual__'
    assert safety(SAMPLE['train'][1][0], three=True) == (
        "__needs_caution__ It's rude to insult other people's food."
    )


@pytest.mark.parametrize('datatype', DATATYPES)
@pytest.mark.parametrize('teacher_key', list(TEACHERS))
def test_both_layouts_give_identical_messages(teacher_key, datatype, sample_dirs):
    task, opts = task_and_opts(teacher_key)
    hf, parlai = (
        [dict(m) for m in one_epoch(make_teacher(task, datatype, sample_dirs[layout], **opts))]
        for layout in LAYOUTS
    )
    assert hf == parlai


@pytest.mark.parametrize('teacher_key', list(TEACHERS))
def test_counts_in_stream_and_non_stream_mode(teacher_key, sample_dirs):
    task, opts = task_and_opts(teacher_key)
    safety_teacher = task.startswith('prosocial:safety')
    for split in ('train', 'valid', 'test'):
        turns = sum(len(d) for d in SAMPLE[split])
        episodes = turns if safety_teacher else len(SAMPLE[split])
        ordered = ':ordered' if split == 'train' else ''
        for datatype in (split + ordered, split + ':stream' + ordered):
            teacher = make_teacher(task, datatype, sample_dirs['hf'], **opts)
            assert (teacher.num_episodes(), teacher.num_examples()) == (episodes, turns), datatype
    assert [len(d) for d in SAMPLE['train']] == [3, 2, 1, 2]  # what the numbers above rely on


def test_three_way_schema_merges_the_caution_levels(sample_dirs):
    five = one_epoch(make_teacher('prosocial:safety_classification', 'train:ordered', sample_dirs['hf']))
    three = one_epoch(
        make_teacher(
            'prosocial:safety_classification',
            'train:ordered',
            sample_dirs['hf'],
            safety_schema='three',
        )
    )
    pairs = {(f['labels'][0], t['labels'][0]) for f, t in zip(five, three)}
    assert pairs == {
        ('__casual__', '__casual__'),
        ('__possibly_needs_caution__', '__needs_caution__'),
        ('__probably_needs_caution__', '__needs_caution__'),
        ('__needs_caution__', '__needs_caution__'),
        ('__needs_intervention__', '__needs_intervention__'),
    }
    # the released label stays on the message
    assert [m['safety_label'] for m in three] == [m['safety_label'] for m in five]


# --- episode boundaries: the bug of ParlAI's built-in teacher ----------------------------------

TWO_DIALOGUES_CONTEXTS = [[t['context'] for t in d] for d in SAMPLE['train'][:2]]


def two_dialogues(layout):
    """
    The text of a ``train.json`` of the sample's first two training dialogues in ``layout``.
    """
    train = read_sample_file(LAYOUTS[layout], 'train.json')
    if layout == 'hf':
        return ''.join(json.dumps(row) + '\n' for row in train if row['dialogue_id'] < 2)
    return json.dumps(train[:2])


@pytest.mark.parametrize('layout', list(LAYOUTS))
@pytest.mark.parametrize('task', ['prosocial', 'prosocial:response', 'prosocial:rot_response'])
@pytest.mark.parametrize('datatype', ['train:ordered', 'train:stream:ordered'])
def test_episodes_are_exactly_the_dialogues(task, datatype, layout, tmp_path):
    """
    ParlAI's ``DialogTeacher.setup_data`` yields ``(message, new_episode)``: the flag says a new
    episode *starts* with this message. The built-in ``prosocial_dialog`` teacher passes the data's
    ``episode_done`` there, so its episodes end one turn early and run into the next dialogue.
    Ours starts an episode on each dialogue's first turn and ends it on the last one.
    """
    data_dir = write_sample(LAYOUTS[layout], tmp_path)
    (tmp_path / 'train.json').write_text(two_dialogues(layout))
    messages = one_epoch(make_teacher(task, datatype, data_dir))
    episodes = episodes_of(messages)
    assert [[m['text'] for m in e] for e in episodes] == TWO_DIALOGUES_CONTEXTS
    for episode in episodes:
        assert episode[0]['response_id'] == 0
        assert [m['episode_done'] for m in episode] == [False] * (len(episode) - 1) + [True]
        assert len({m['dialogue_id'] for m in episode}) == 1


def test_builtin_prosocial_dialog_teacher_gets_the_boundaries_wrong(tmp_path):
    """
    Why this plugin has its own teacher: the same two dialogues, read by ParlAI's built-in task.

    (Evaluation datatypes: on ``train:ordered`` the built-in teacher also ignores ``:ordered``, as
    it overwrites ``self.datatype`` with ``train`` and so picks episodes at random.)
    """
    dpath = tmp_path / 'prosocial_dialog'
    dpath.mkdir()
    (dpath / 'valid.json').write_text(two_dialogues('parlai'))
    mark_done(str(dpath), version_string='0.1')  # as after ParlAI's own download: no network

    def builtin_episodes(datatype):
        teacher = create_teacher('prosocial_dialog', datatype, datapath=str(tmp_path))
        return [[m['text'] for m in e] for e in episodes_of(one_epoch(teacher))]

    (a0, a1, a2), (b0, b1) = TWO_DIALOGUES_CONTEXTS
    # each episode ends one turn before its dialogue does; the rest runs into the next dialogue
    assert builtin_episodes('valid:stream') == [[a0, a1], [a2, b0], [b1]]
    # and without streaming, num_episodes() (2 dialogues) cuts the epoch before the 3rd episode
    assert builtin_episodes('valid') == [[a0, a1], [a2, b0]]
    # ours, on the very same file
    ours = one_epoch(make_teacher('prosocial', 'valid', dpath))
    assert [[m['text'] for m in e] for e in episodes_of(ours)] == TWO_DIALOGUES_CONTEXTS


# --- the parlai commands (in this process; the stock command in a new one is test_plugin_hook's) --


def parlai_output(sample_dirs, args):
    env = {'PROSOCIAL_DATA_DIR': sample_dirs['hf']}
    return testing.parlai_in_process(args, env_extra=env).output


def test_cli_display_data_rot_response(sample_dirs):
    stdout = parlai_output(sample_dirs, ['display_data', '-t', 'prosocial:rot_response'])
    assert stdout.count('- - - NEW EPISODE: prosocial - - -') == len(SAMPLE['train'])
    for dialogue in SAMPLE['train']:
        for turn in dialogue:
            assert turn['context'] in stdout
            assert rot_response(turn) in stdout
    assert (
        "It is wrong to call 911 just for fun. __endrots__ Please don't. Emergency lines are for "
        'people in real danger. Why do you want to?'
    ) in stdout


def _verify_counts(stdout):
    lines = [line for line in stdout.splitlines() if line.startswith("{'missing_text'")]
    assert len(lines) == 1, stdout[-3000:]
    return ast.literal_eval(lines[0])


def test_cli_verify_data(sample_dirs):
    stdout = parlai_output(sample_dirs, ['verify_data', '-t', 'prosocial:safety_classification'])
    counts = _verify_counts(stdout)
    assert counts == {
        'missing_text': 0,
        'missing_labels': 0,
        'missing_label_candidates': 0,
        'empty_string_label_candidates': 0,
        'label_candidates_with_missing_label': 0,
        'did_not_return_message': 0,
        'exs': sum(len(d) for d in SAMPLE['train']),
    }


@pytest.mark.parametrize('split', ['train', 'valid', 'test'])
@pytest.mark.parametrize('teacher_key', list(TEACHERS))
def test_verify_data_every_teacher(teacher_key, split, sample_dirs, capsys):
    """
    ``verify_data`` for every teacher and split, in-process (same script and argument parsing as
    ``parlai verify_data``, without paying ~3 s of start-up per run).
    """
    task, opts = task_and_opts(teacher_key)
    args = ['-t', task, '-dt', split, '--prosocial-data-dir', sample_dirs['parlai']]
    for key, value in opts.items():
        args += ['--' + key.replace('_', '-'), value]
    counts = VerifyData.main(*args)
    assert counts == _verify_counts(capsys.readouterr().out)
    assert counts['missing_text'] == 0
    assert counts['missing_labels'] == 0
    assert counts['did_not_return_message'] == 0
    assert counts['exs'] == sum(len(d) for d in SAMPLE[split])
    if task == 'prosocial:safety_classification':
        assert counts['missing_label_candidates'] == 0
        assert counts['empty_string_label_candidates'] == 0
        assert counts['label_candidates_with_missing_label'] == 0
    else:
        assert counts['missing_label_candidates'] == counts['exs']


@pytest.mark.parametrize('casual_rots', [None, 'drop', 'keep'])
def test_casual_turns_train_on_the_reply_alone_unless_their_rots_are_kept(casual_rots, tmp_path):
    """
    §4.2: replies grounded on RoTs for contexts against social norms, "otherwise ... without
    RoTs". The sample's casual turns have none, so one is given RoTs here; ``--casual-rots``
    defaults to drop.
    """
    rows = read_sample_file('prosocial', 'train.json')
    casual = next(i for i, row in enumerate(rows) if row['safety_label'] == '__casual__')
    rows[casual]['rots'] = ['It is good to enjoy yourself.']
    data_dir = write_sample('prosocial', tmp_path)
    (tmp_path / 'train.json').write_text(''.join(json.dumps(row) + '\n' for row in rows))
    opts = {} if casual_rots is None else {'casual_rots': casual_rots}
    messages = one_epoch(make_teacher('prosocial:rot_response', 'train:ordered', data_dir, **opts))
    assert len(messages) == len(rows)
    for row, message in zip(rows, messages):
        assert message['rots'] == (row['rots'] or [])  # the annotation stays either way
        assert list(message['labels']) == [rot_response(row, casual_rots or 'drop')]
    kept = messages[casual]['labels'][0]
    assert kept == (
        rows[casual]['response'] if casual_rots != 'keep'
        else f"It is good to enjoy yourself. __endrots__ {rows[casual]['response']}"
    )


def test_first_row_longer_than_any_read_buffer_is_still_json_lines(tmp_path):
    # the layout is told from the whole first line, however long a row is
    rows = read_sample_file('prosocial', 'test.json')
    rows[0]['response'] = 'word ' * 40000
    path = tmp_path / 'test.json'
    path.write_text(''.join(json.dumps(row) + '\n' for row in rows))
    (dialogue,) = read_dialogues(str(path))
    assert dialogue[0]['response'] == rows[0]['response']


def test_hf_viewer_column_export_reads_like_the_rows(tmp_path):
    rows = read_sample_file('prosocial', 'train.json')
    columns = {field: [row[field] for row in rows] for field in rows[0]}
    (tmp_path / 'columns.json').write_text(json.dumps(columns, indent=4))
    (tmp_path / 'rows.json').write_text(''.join(json.dumps(row) + '\n' for row in rows))
    from_columns = read_dialogues(str(tmp_path / 'columns.json'))
    assert from_columns == read_dialogues(str(tmp_path / 'rows.json'))
    assert [len(d) for d in from_columns] == [len(d) for d in SAMPLE['train']]
