"""
The SODA teachers against the hand-written sample (``parlai_prosocial/samples/soda``).

Expected messages are built here from the sample's rows, independently of the teachers:
the exact COSMO input strings, the perspectives, the seeded drops (on in training only), the
validation filters, the metadata fields, the split of the data between distributed workers, the
index cache, bad input, and the ``parlai`` command line.
"""

import os
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from parlai.core.params import ParlaiParser

from parlai_prosocial.errors import ProsocialOptionError
from parlai_prosocial.tasks.soda import data
from parlai_prosocial.tasks.soda.cosmo_format import drop_rates
from parlai_prosocial.tasks.soda.agents import DialogueTeacher, SodaTeacher
from parlai_prosocial.tasks.soda.data import SodaDataError
from parlai_prosocial.samples import write_sample
from parlai_prosocial.testing import episodes_of
from parlai_prosocial.testing.samples import split_files

SPLITS = ['train', 'valid', 'test']
METADATA = [name for name in data.COLUMNS if name != 'dialogue']
SAMPLE = split_files('soda', data.SPLIT_FILES)


def table_of(rows):
    return pa.Table.from_pylist(rows, schema=data.SCHEMA)


def write_split(path, rows, row_group_size=2):
    pq.write_table(table_of(rows), path, row_group_size=row_group_size)


@pytest.fixture(scope='module')
def sample_dir(tmp_path_factory):
    return write_sample('soda', tmp_path_factory.mktemp('soda_sample'))


@pytest.fixture
def cache(tmp_path):
    return str(tmp_path / 'cache')


def make_opt(datatype, data_dir, cache_dir, task='soda', **kwargs):
    return ParlaiParser(True, True).parse_kwargs(
        task=task,
        datatype=datatype,
        soda_data_dir=str(data_dir),
        soda_cache_dir=str(cache_dir),
        model='fixed_response',
        fixed_response='none',
        **kwargs,
    )


def teacher_for(datatype, data_dir, cache_dir, cls=SodaTeacher, rank=None, world_size=None, **kw):
    task = 'soda:dialogue' if cls is DialogueTeacher else 'soda'
    opt = make_opt(datatype, data_dir, cache_dir, task=task, **kw)
    if world_size is not None:
        # what parlai.utils.distributed.distributed_context sets in each worker's opt
        opt['rank'] = rank
        opt['distributed_world_size'] = world_size
    return cls(opt)


def epoch(teacher, limit=10000):
    """
    Every message of one epoch (valid/test or an ordered train), in order.
    """
    messages = []
    try:
        for _ in range(limit):
            message = teacher.act()
            if message.is_padding():
                return messages
            messages.append(message)
        raise AssertionError('the epoch did not end')
    finally:
        teacher.shutdown()


def expected_soda(rows, drop_narrative=False, drop_instruction=False):
    """
    (row number, turn, text, label, speaker, listener), built from the sample by hand.
    """
    out = []
    for number, row in rows:
        dialogue, speakers = row['dialogue'], row['speakers']
        for turn, (utterance, speaker) in enumerate(zip(dialogue, speakers)):
            others_before = [s for s in speakers[:turn] if s != speaker]
            others_after = [s for s in speakers[turn + 1 :] if s != speaker]
            listener = others_before[-1] if others_before else others_after[0]
            parts = []
            if not drop_narrative:
                parts.append(row['narrative'])
            if not drop_instruction:
                parts.append(f'Imagine you are {speaker} and speak to {listener}')
            parts.append(' <turn> '.join(dialogue[:turn]))
            out.append((number, turn, ' <sep> '.join(parts), utterance, speaker, listener))
    return out


def as_tuples(messages):
    return [
        (
            m['soda_row'],
            m['turn_index'],
            m['text'],
            (m.get('labels') or m.get('eval_labels'))[0],
            m['speaker'],
            m['listener'],
        )
        for m in messages
    ]


# --- the COSMO format -------------------------------------------------------------------------


def test_first_turns_written_out(sample_dir, cache):
    teacher = teacher_for(
        'train:ordered', sample_dir, cache, cosmo_drop_narrative=0.0, cosmo_drop_instruction=0.0
    )
    messages = epoch(teacher)
    narrative = (
        "Madeleine took the first step towards her goal, and with her coach's encouraging "
        "words, she moves one step closer."
    )
    first = (
        'Hey coach, I wanted to talk to you about my performance today. I was really pushing '
        "myself and I think I did pretty well. But I'm still not quite where I want to be."
    )
    # the released set_input with an empty history: a trailing " <sep> "
    assert messages[0]['text'] == (
        narrative + ' <sep> Imagine you are Madeleine and speak to Coach <sep> '
    )
    assert messages[0]['labels'] == [first]
    assert messages[1]['text'] == (
        narrative + ' <sep> Imagine you are Coach and speak to Madeleine <sep> ' + first
    )
    assert messages[2]['text'].endswith(' <sep> ' + first + ' <turn> ' + SAMPLE['train'][0][
        'dialogue'
    ][1])
    assert as_tuples(messages) == expected_soda(list(enumerate(SAMPLE['train'])))


def test_perspectives_with_a_repeated_and_a_third_speaker(sample_dir, cache):
    messages = epoch(teacher_for('train:ordered', sample_dir, cache, cosmo_drop_instruction=0.0))
    by_row = {}
    for m in messages:
        by_row.setdefault(m['soda_row'], []).append((m['speaker'], m['listener']))
    # Lena speaks twice before Sam answers: she speaks to Sam both times
    assert by_row[2] == [('Lena', 'Sam'), ('Lena', 'Sam'), ('Sam', 'Lena'), ('Lena', 'Sam')]
    # three speakers: each speaks to the one they answer (the opener to who answers them)
    assert by_row[3] == [
        ('Omar', 'Ines'),
        ('Ines', 'Omar'),
        ('Grace', 'Ines'),
        ('Omar', 'Grace'),
    ]
    assert 'Imagine you are Grace and speak to Ines <sep> ' in [
        m for m in messages if m['soda_row'] == 3
    ][2]['text']


def test_metadata_fields_on_every_message(sample_dir, cache):
    for cls in (SodaTeacher, DialogueTeacher):
        for message in epoch(teacher_for('valid', sample_dir, cache, cls=cls)):
            row = SAMPLE['valid'][message['soda_row']]
            for name in METADATA:
                assert message[name] == row[name], name
            assert message['speaker'] == row['speakers'][message['turn_index']]
            assert message['eval_labels'] == [row['dialogue'][message['turn_index']]]


# --- drops ------------------------------------------------------------------------------------


def test_drops_are_seeded_and_reproducible(sample_dir, cache):
    texts = [
        [m['text'] for m in epoch(teacher_for('train:ordered', sample_dir, cache))]
        for _ in range(2)
    ]
    assert texts[0] == texts[1]
    other_seed = [
        m['text'] for m in epoch(teacher_for('train:ordered', sample_dir, cache, cosmo_drop_seed=7))
    ]
    assert other_seed != texts[0]
    # every text is the full input (variants[0]) with some parts left out
    variants = [
        [t for _, _, t, *_ in expected_soda(list(enumerate(SAMPLE['train'])), *flags)]
        for flags in [(False, False), (True, False), (False, True), (True, True)]
    ]
    for i, text in enumerate(texts[0]):
        assert text in {v[i] for v in variants}
    assert texts[0] != variants[0]


def test_drop_everything(sample_dir, cache):
    # dropping nothing: test_first_turns_written_out
    rows = list(enumerate(SAMPLE['train']))
    everything = epoch(
        teacher_for(
            'train:ordered', sample_dir, cache, cosmo_drop_narrative=1.0, cosmo_drop_instruction=1.0
        )
    )
    assert as_tuples(everything) == expected_soda(rows, True, True)
    assert everything[1]['text'] == SAMPLE['train'][0]['dialogue'][0]


@pytest.mark.parametrize('datatype', ['valid', 'test', 'train:evalmode'])
def test_no_drops_outside_training(sample_dir, cache, datatype):
    # the exact COSMO inputs, even with every drop asked for
    split = datatype.split(':')[0]
    messages = epoch(
        teacher_for(
            datatype, sample_dir, cache, cosmo_drop_narrative=1.0, cosmo_drop_instruction=1.0
        )
    )
    assert as_tuples(messages) == expected_soda(list(enumerate(SAMPLE[split])))
    assert all(m['episode_done'] for m in messages)
    if split != 'train':
        assert all('labels' not in m and 'eval_labels' in m for m in messages)


def test_drop_rates_on_a_larger_file(tmp_path, cache):
    rows = [dict(row) for row in SAMPLE['train']] * 120  # 600 rows, 2640 examples
    write_split(str(tmp_path / 'train.parquet'), rows, row_group_size=50)
    messages = epoch(teacher_for('train:ordered', tmp_path, cache), limit=5000)
    narrative = sum(not m['text'].startswith(m['narrative']) for m in messages) / len(messages)
    instruction = sum('Imagine you are' not in m['text'] for m in messages) / len(messages)
    assert abs(narrative - 0.3) < 0.04
    assert abs(instruction - 0.5) < 0.04


def test_drops_change_from_one_pass_to_the_next_and_are_reproducible(sample_dir, cache):
    total = sum(len(r['dialogue']) for r in SAMPLE['train'])

    def passes():
        teacher = teacher_for('train', sample_dir, cache)
        seen = {}
        try:
            for _ in range(3 * total):
                m = teacher.act()
                seen.setdefault((m['soda_row'], m['turn_index']), []).append(m['text'])
        finally:
            teacher.shutdown()
        return seen

    first, second = passes(), passes()
    assert first == second  # same seed: the same inputs on each pass, in any chunk order
    assert len(first) == total and all(len(v) == 3 for v in first.values())
    assert any(len(set(v)) > 1 for v in first.values())


def test_training_order_follows_the_seed(sample_dir, cache):
    """
    With --seed (train_model's), the order of chunks and of the examples inside each chunk is
    the same on every run, and changes from pass to pass; without it, ParlAI's unseeded shuffle.
    """
    total = sum(len(r['dialogue']) for r in SAMPLE['train'])

    def order(seed):
        opt = make_opt('train', sample_dir, cache)
        opt['seed'] = seed
        teacher = SodaTeacher(opt)
        try:
            messages = [teacher.act() for _ in range(3 * total)]
            return [(m['soda_row'], m['turn_index']) for m in messages]
        finally:
            teacher.shutdown()

    first = order(7)
    assert first == order(7)
    passes = [first[i * total:(i + 1) * total] for i in range(3)]
    assert all(sorted(p) == sorted(passes[0]) for p in passes)  # each pass: every example once
    assert len({tuple(p) for p in passes}) > 1  # in another order
    assert order(8) != first


# --- filters ----------------------------------------------------------------------------------


def _kept(split, columns):
    return [
        (i, row)
        for i, row in enumerate(SAMPLE[split])
        if all(row[c].strip().lower() == 'yes' for c in columns)
    ]


@pytest.mark.parametrize(
    'validated,answers,columns',
    [
        ('head', 'plain', ['head_answer']),
        ('head_relation_tail', 'plain', ['head_answer', 'relation_tail_answer']),
        ('head', 'pmi', ['pmi_head_answer']),
        ('head_relation_tail', 'pmi', ['pmi_head_answer', 'pmi_relation_tail_answer']),
    ],
)
@pytest.mark.parametrize('split', SPLITS)
def test_validation_filters(sample_dir, cache, validated, answers, columns, split):
    datatype = 'train:ordered' if split == 'train' else split
    kw = dict(
        soda_validated=validated,
        soda_validation_answers=answers,
        cosmo_drop_narrative=0.0,
        cosmo_drop_instruction=0.0,
    )
    teacher = teacher_for(datatype, sample_dir, cache, **kw)
    kept = _kept(split, columns)
    expected = expected_soda(kept)
    assert teacher.num_examples() == len(expected) == teacher.num_episodes()
    assert as_tuples(epoch(teacher)) == expected
    dialogue = teacher_for(datatype, sample_dir, cache, cls=DialogueTeacher, **kw)
    assert dialogue.num_examples() == len(expected)
    assert dialogue.num_episodes() == sum(len(set(r['speakers'])) for _, r in kept)
    assert {m['soda_row'] for m in epoch(dialogue)} == {i for i, _ in kept}


def test_the_filters_remove_what_the_sample_says():
    assert [i for i, _ in _kept('train', ['head_answer'])] == [0, 2, 3, 4]
    assert [i for i, _ in _kept('train', ['head_answer', 'relation_tail_answer'])] == [0, 3, 4]
    assert [i for i, _ in _kept('train', ['pmi_head_answer'])] == [0, 1, 2, 3]


def test_a_filter_that_keeps_nothing_is_an_error(tmp_path, cache):
    rows = [dict(SAMPLE['train'][1])]  # head_answer: Unknown
    write_split(str(tmp_path / 'valid.parquet'), rows)
    with pytest.raises(SodaDataError, match='no rows left after --soda-validated head'):
        teacher_for('valid', tmp_path, cache, soda_validated='head')


def test_an_answer_the_filters_do_not_know_is_counted(tmp_path, cache):
    # read as not Yes, so a filter drops its row: never silently
    rows = [dict(r) for r in SAMPLE['valid']]
    rows[0]['head_answer'] = 'Yes.'
    rows[1]['pmi_relation_tail_answer'] = None
    write_split(str(tmp_path / 'valid.parquet'), rows)
    index = data.load_index(str(tmp_path / 'valid.parquet'), cache)
    assert index['anomalies'] == {
        'head_answer not Yes, No or Unknown (read as not Yes)': [1, [0]],
        'pmi_relation_tail_answer not Yes, No or Unknown (read as not Yes)': [1, [1]],
    }
    teacher = teacher_for('valid', tmp_path, cache, soda_validated='head')
    assert {m['soda_row'] for m in epoch(teacher)} == {1}
    with pytest.raises(SodaDataError, match=r'1 x head_answer not Yes, No or Unknown \(read as '
                                            r'not Yes\) \(row 0\)'):
        teacher_for('valid', tmp_path, cache, soda_validated='head', soda_anomalies='error')


@pytest.mark.parametrize(
    'check, message',
    [
        (lambda: data.filter_key('heads'),
         "--soda-validated is 'heads': expected one of all, head, head_relation_tail"),
        (lambda: data.filter_key('head', 'PMI'),
         "--soda-validation-answers is 'PMI': expected one of plain, pmi"),
        (lambda: drop_rates({'datatype': 'train', 'cosmo_drop_narrative': 1.5}),
         '--cosmo-drop-narrative is 1.5: expected a probability from 0 to 1'),
    ],
    ids=['filter', 'answers', 'drop rate'],
)
def test_options_from_an_opt_file_are_checked(check, message):
    # argparse checks them on the command line, not in an opt file (-o, --init-opt)
    with pytest.raises(ProsocialOptionError) as info:
        check()
    assert str(info.value) == message


# --- soda:dialogue ----------------------------------------------------------------------------


def test_dialogue_episodes(sample_dir, cache):
    teacher = teacher_for('train:ordered', sample_dir, cache, cls=DialogueTeacher)
    assert teacher.num_examples() == sum(len(r['dialogue']) for r in SAMPLE['train'])
    assert teacher.num_episodes() == sum(len(set(r['speakers'])) for r in SAMPLE['train'])
    episodes = episodes_of(epoch(teacher))
    lena = [e for e in episodes if e[0]['soda_row'] == 2]
    d = SAMPLE['train'][2]['dialogue']
    assert [(m['speaker'], m['text'], m['labels'][0]) for m in lena[0]] == [
        ('Lena', '__SILENCE__', d[0]),
        ('Lena', '__SILENCE__', d[1]),
        ('Lena', d[2], d[3]),
    ]
    assert [(m['speaker'], m['text'], m['labels'][0]) for m in lena[1]] == [
        ('Sam', d[0] + '\n' + d[1], d[2])
    ]
    # every utterance is a label exactly once
    labels = sorted((m['soda_row'], m['turn_index']) for e in episodes for m in e)
    assert labels == sorted(
        (i, t) for i, r in enumerate(SAMPLE['train']) for t in range(len(r['dialogue']))
    )


# --- distributed workers ----------------------------------------------------------------------


def _keys(messages):
    return [(m['soda_row'], m['speaker'], m['turn_index']) for m in messages]


def _all_keys(split):
    return sorted(
        (i, s, t)
        for i, r in enumerate(SAMPLE[split])
        for t, s in enumerate(r['speakers'])
    )


@pytest.mark.parametrize('cls', [SodaTeacher, DialogueTeacher])
@pytest.mark.parametrize('datatype', ['train:ordered', 'valid'])  # test: valid's code, other rows
@pytest.mark.parametrize('world_size', [2, 3])
def test_workers_share_the_data_without_overlap(sample_dir, cache, cls, datatype, world_size):
    shares = [
        _keys(
            epoch(
                teacher_for(
                    datatype, sample_dir, cache, cls=cls, rank=rank, world_size=world_size
                )
            )
        )
        for rank in range(world_size)
    ]
    union = [k for share in shares for k in share]
    assert sorted(union) == _all_keys(datatype.split(':')[0])  # all, none twice
    assert all(shares)
    if datatype.startswith('train'):
        # training: whole rows, by row number
        for rank, share in enumerate(shares):
            assert {row for row, _, _ in share} == {
                i for i in range(len(SAMPLE['train'])) if i % world_size == rank
            }


def test_shuffled_training_workers_each_cycle_their_own_share(sample_dir, cache):
    world_size = 2
    seen = []
    for rank in range(world_size):
        teacher = teacher_for(
            'train', sample_dir, cache, rank=rank, world_size=world_size
        )
        assert teacher.num_examples() == sum(len(r['dialogue']) for r in SAMPLE['train'])
        mine = sorted(k for k in _all_keys('train') if k[0] % world_size == rank)
        try:
            got = [_keys([teacher.act()])[0] for _ in range(2 * len(mine))]
        finally:
            teacher.shutdown()
        assert sorted(got[: len(mine)]) == mine  # one pass: each of its examples once
        assert sorted(got[len(mine) :]) == mine  # and again
        seen += mine
    assert sorted(seen) == _all_keys('train')


# --- the index, chunks and the re-chunked copy ------------------------------------------------


def test_counts_come_from_a_cached_index_rebuilt_when_the_file_changes(tmp_path, cache):
    path = str(tmp_path / 'valid.parquet')
    write_split(path, SAMPLE['valid'])
    assert teacher_for('valid', tmp_path, cache).num_examples() == 7
    index_path, _, _ = data.cache_paths(path, cache, data.DEFAULT_CHUNK_ROWS)
    built = os.stat(index_path).st_mtime_ns
    assert teacher_for('valid', tmp_path, cache).num_examples() == 7
    assert os.stat(index_path).st_mtime_ns == built  # reused
    time.sleep(0.01)
    write_split(path, SAMPLE['valid'][:1])  # new size and mtime: never the stale counts
    assert teacher_for('valid', tmp_path, cache).num_examples() == 3
    os.utime(path, ns=(1, 1))  # same size, other mtime
    assert teacher_for('valid', tmp_path, cache).num_examples() == 3
    assert os.stat(index_path).st_mtime_ns != built


def test_huge_row_groups_are_rechunked_into_a_cached_copy(tmp_path, cache):
    rows = [dict(row) for row in SAMPLE['train']] * 3  # 15 rows in one row group
    path = str(tmp_path / 'train.parquet')
    pq.write_table(table_of(rows), path, row_group_size=len(rows))
    kw = dict(soda_chunk_rows=2, cosmo_drop_narrative=0.0, cosmo_drop_instruction=0.0)
    teacher = teacher_for('train:ordered', tmp_path, cache, **kw)
    index = teacher.soda_index
    assert index['chunk_file'] and os.path.exists(index['chunk_file'])
    assert [c['rows'] for c in index['chunks']] == [2] * 7 + [1]
    assert pq.ParquetFile(index['chunk_file']).metadata.num_row_groups == 8
    assert as_tuples(epoch(teacher)) == expected_soda(list(enumerate(rows)))
    # small row groups are used as they are
    small = tmp_path / 'small'
    small.mkdir()
    pq.write_table(table_of(rows), str(small / 'train.parquet'), row_group_size=4)
    assert teacher_for('train:ordered', small, cache, **kw).soda_index['chunk_file'] is None


def test_file_changed_after_the_index_was_read_is_an_error_in_the_main_thread(tmp_path, cache):
    path = str(tmp_path / 'valid.parquet')
    write_split(path, SAMPLE['valid'])
    teacher = teacher_for('valid', tmp_path, cache)
    os.utime(path, ns=(5, 5))
    teacher.reset()  # loads again, in ParlAI's loader thread
    with pytest.raises(SodaDataError, match='changed'):
        for _ in range(20):
            teacher.act()
    teacher.shutdown()


# --- bad input ----------------------------------------------------------------------------------


def _write(tmp_path, table):
    path = str(tmp_path / 'valid.parquet')
    pq.write_table(table, path, row_group_size=2)
    return path


def _dialogue_as_one_string(table):
    return table.set_column(
        table.schema.get_field_index('dialogue'),
        'dialogue',
        pa.array([' '.join(r['dialogue']) for r in SAMPLE['valid']]),
    )


@pytest.mark.parametrize(
    'write, message',
    [
        (lambda tmp_path: None, r'valid\.parquet: no such file'),
        (
            lambda tmp_path: (tmp_path / 'valid.parquet').write_text('{"head": "not parquet"}\n'),
            r'valid\.parquet: not a parquet file',
        ),
        (
            lambda tmp_path: _write(tmp_path, table_of(SAMPLE['valid']).drop_columns(['speakers'])),
            r'valid\.parquet: missing column "speakers"',
        ),
        (
            lambda tmp_path: _write(tmp_path, _dialogue_as_one_string(table_of(SAMPLE['valid']))),
            r'valid\.parquet: column "dialogue" is string, expected a list of',
        ),
    ],
    ids=['missing', 'not parquet', 'a column missing', 'a column of the wrong type'],
)
def test_bad_file(tmp_path, cache, write, message):
    write(tmp_path)
    with pytest.raises(SodaDataError, match=message):
        teacher_for('valid', tmp_path, cache)


def _bad_rows(change, at=3):
    rows = [dict(r) for r in SAMPLE['train'] + SAMPLE['valid']]
    change(rows[at])
    return rows


@pytest.mark.parametrize(
    'change,message',
    [
        (
            lambda r: r.update(speakers=r['speakers'][:-1]),
            r'row 3: field "speakers" has 3 names but field "dialogue" has 4 utterances',
        ),
        (lambda r: r.update(narrative=None), r'row 3: field "narrative" is null'),
        (lambda r: r.update(dialogue=None, speakers=None), r'row 3: field "dialogue" is null'),
        (
            lambda r: r.update(dialogue=r['dialogue'][:1] + [None] + r['dialogue'][2:]),
            r'row 3: field "dialogue" holds a null',
        ),
        (lambda r: r.update(dialogue=[], speakers=[]), r'row 3: field "dialogue" is an empty'),
    ],
)
def test_bad_rows_fail_at_teacher_creation(tmp_path, cache, change, message):
    path = _write(tmp_path, table_of(_bad_rows(change)))
    with pytest.raises(SodaDataError, match=message) as error:
        teacher_for('valid', tmp_path, cache)
    assert str(error.value).startswith(path + ': row 3')


def test_bad_rows_are_also_caught_when_read(tmp_path):
    rows = _bad_rows(lambda r: r.update(speakers=r['speakers'][:-1]))
    table = table_of(rows)
    with pytest.raises(SodaDataError, match=r'somefile\.parquet: row 13: field "speakers" has 3'):
        data.chunk_rows_as_python(table, 10, list(range(len(rows))), 'somefile.parquet')


# --- the command line ---------------------------------------------------------------------------


def test_parlai_display_data(sample_dir, tmp_path):
    # the command finds `-t soda` through the plugin's import hook (run in this process: the
    # stock command in a new one is test_plugin_hook's)
    from parlai_prosocial.testing import parlai_in_process

    env = {'SODA_DATA_DIR': sample_dir, 'SODA_CACHE_DIR': str(tmp_path / 'cache')}
    out = parlai_in_process(['display_data', '-t', 'soda', '-dt', 'valid', '-n', '3'],
                            cwd=str(tmp_path), env_extra=env).output
    row = SAMPLE['valid'][0]
    assert (
        f"{row['narrative']} <sep> Imagine you are Brother and speak to Aiko <sep> "
        + row['dialogue'][0]
    ) in out
    assert row['dialogue'][1] in out


def test_downloaded_files_are_used_once_built(tmp_path):
    # no network here: lay the files out as the download leaves them, with the .built marker
    from parlai.core.build_data import mark_done

    from parlai_prosocial.tasks.soda import build

    dpath = tmp_path / 'soda'
    write_sample('soda', dpath)
    mark_done(str(dpath), build.VERSION)
    opt = ParlaiParser(True, True).parse_kwargs(
        task='soda', datatype='valid', datapath=str(tmp_path), model='fixed_response',
        fixed_response='none',
    )
    opt['soda_data_dir'] = None
    opt['soda_cache_dir'] = None
    assert [m['eval_labels'][0] for m in epoch(SodaTeacher(opt))] == [
        u for row in SAMPLE['valid'] for u in row['dialogue']
    ]
    assert os.listdir(dpath / 'cache')  # the index went to {datapath}/soda/cache
    assert sorted(build.FILES) == sorted(data.SPLIT_FILES.values())
    for name, (sha256, size) in build.FILES.items():
        assert build.url(name).endswith(build.REVISION + '/' + name)
        assert len(sha256) == 64 and size > 0
