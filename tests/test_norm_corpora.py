"""
The three norm pre-training corpora of Canary (Social Chemistry 101, MIC, Commonsense Norm Bank):
what the teachers make of the upstream-schema samples, bad input stopping the teacher with one line
naming the file, the line and the field, the agreement-gated corpora's message saying how to obtain
the files, and Social Chemistry's download (network replaced) accepted only after its structure
check.
"""

import csv
import io
import os
import zipfile

import pytest

from parlai_prosocial import testing
from parlai_prosocial.samples import write_sample
from parlai_prosocial.tasks.mic.data import MicDataError
from parlai_prosocial.tasks.norm_bank.data import NormBankDataError
from parlai_prosocial.tasks.social_chem import build as social_chem_build
from parlai_prosocial.tasks.social_chem.data import FILE as SOCIAL_CHEM_FILE
from parlai_prosocial.tasks.social_chem.data import SocialChemDataError


def _epoch(task, datatype='train:ordered', **opts):
    return testing.one_epoch(testing.create_teacher(task, datatype, **opts))


# --- what the teachers read ---------------------------------------------------------------------


def test_social_chem_one_example_per_rot_without_bad_rots(tmp_path):
    directory = write_sample('social_chem', tmp_path)
    messages = _epoch('social_chem', social_chem_data_dir=directory)
    assert [m['text'] for m in messages] == [
        'hoping to spam others',
        'telling my kid there are monsters under the bed',  # two breakdown rows, one RoT
        'asking my friend to "borrow" his car for a month',  # pandas-quoted field
        'helping a neighbour carry groceries',
    ]
    assert messages[1]['labels'] == ["You shouldn't scare your kids."]
    assert all(m['episode_done'] for m in messages)
    kept = _epoch('social_chem', social_chem_data_dir=directory, social_chem_keep_bad_rots=True)
    assert [m['labels'][0] for m in kept if m['rot_id'] == 'rot/rocstories/a4/1/1/'] == ['Lunch.']
    attrs = _epoch('social_chem', social_chem_data_dir=directory,
                   social_chem_target='attributes_and_rot')
    assert attrs[0]['labels'] == [
        "[attrs] <morality-ethics> <care-harm> <agree-4> [rot] It's bad to intentionally "
        'disrupt others.'
    ]
    valid = _epoch('social_chem', 'valid', social_chem_data_dir=directory)
    assert [m['rot_id'] for m in valid] == ['rot/reddit/amitheasshole/b1/1/1/',
                                            'rot/dearabby/b2/1/1/']
    # pandas writes a number column with gaps as floats: the same level
    _rewrite(os.path.join(directory, SOCIAL_CHEM_FILE), '\t', _set('rot-agree', '4.0'))
    assert _epoch('social_chem', social_chem_data_dir=directory,
                  social_chem_target='attributes_and_rot')[0]['labels'] == attrs[0]['labels']


def test_social_chem_a_rot_id_again_with_another_rot_is_kept_and_counted(tmp_path):
    directory = write_sample('social_chem', tmp_path)
    path = os.path.join(directory, SOCIAL_CHEM_FILE)
    _rewrite(path, '\t', _set('rot', 'Another RoT.', 3))  # line 4: line 3's rot-id
    labels = [m['labels'][0] for m in _epoch('social_chem', social_chem_data_dir=directory)]
    assert labels[1:3] == ["You shouldn't scare your kids.", 'Another RoT.']
    with pytest.raises(SocialChemDataError) as caught:
        _epoch('social_chem', social_chem_data_dir=directory, social_chem_anomalies='error')
    assert str(caught.value) == (
        f'{path}: 1 anomaly: 1 x rot-id again with another split, situation or RoT (kept as a '
        'norm of its own) (line 4 (rot-id rot/reddit/amitheasshole/a2/1/1/)) (stopped by '
        '--social-chem-anomalies error)'
    )


def test_mic_prompt_and_reply_to_rot(tmp_path):
    directory = write_sample('mic', tmp_path)
    messages = _epoch('mic', mic_data_dir=directory)
    assert len(messages) == 4
    assert messages[0]['text'] == (
        'What would you do if you found a wallet?\nI would keep the money, finders keepers.'
    )
    assert messages[0]['labels'] == ['It is wrong to keep things that belong to others.']
    assert (messages[1]['moral'], messages[1]['a_agrees']) == ('fairness|authority', '0')
    assert messages[2]['prompt'] == 'Is it ok to lie to your "best" friend?'
    assert [m['eval_labels'][0] for m in _epoch('mic', 'test', mic_data_dir=directory)] == [
        "It's wrong to cheat."
    ]


def test_norm_bank_modes(tmp_path):
    directory = write_sample('norm_bank', tmp_path)
    both = _epoch('norm_bank', norm_bank_data_dir=directory)
    assert [m['norm_bank_mode'] for m in both] == ['freeform'] * 4 + ['yesno'] * 2
    assert both[1]['text'] == 'calling 911 just for fun'
    assert both[1]['labels'] == ["it's wrong"] and both[1]['class_label'] == -1
    freeform = _epoch('norm_bank', 'valid', norm_bank_data_dir=directory,
                      norm_bank_mode='freeform')
    assert [m['eval_labels'][0] for m in freeform] == ["it's bad", "it's admirable"]
    yesno = _epoch('norm_bank', 'test', norm_bank_data_dir=directory, norm_bank_mode='yesno')
    assert [m['text'] for m in yesno] == ["You shouldn't scare your kids."]


# --- bad input ----------------------------------------------------------------------------------


def _rewrite(path, delimiter, change):
    with open(path, encoding='utf-8', newline='') as f:
        rows = list(csv.reader(f, delimiter=delimiter))
    rows = change(rows)
    with open(path, 'w', encoding='utf-8', newline='') as f:
        csv.writer(f, delimiter=delimiter, lineterminator='\n').writerows(rows)


def _set(column, value, row_index=1):
    def change(rows):
        rows[row_index][rows[0].index(column)] = value
        return rows

    return change


def _drop_column(column):
    def change(rows):
        i = rows[0].index(column)
        return [r[:i] + r[i + 1:] for r in rows]

    return change


def _short_row(rows):
    rows[2] = rows[2][:-3]
    return rows


def _all_bad(rows):
    i = rows[0].index('rot-bad')
    return [rows[0]] + [r[:i] + ['1'] + r[i + 1:] for r in rows[1:]]


def _add_column(column):
    """
    A second ``column`` at the end of every row, with other values.
    """
    def change(rows):
        header, *records = rows
        return [header + [column]] + [r + [f'another {column} {i}'] for i, r in enumerate(records)]

    return change


def _resaved(original, delimiter, quoting=csv.QUOTE_MINIMAL):
    """
    The rows of a file separated by ``original`` written again with ``delimiter`` (a
    spreadsheet's "save as").
    """
    def change(text):
        rows = list(csv.reader(io.StringIO(text, newline=''), delimiter=original))
        out = io.StringIO()
        csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator='\n').writerows(rows)
        return out.getvalue()

    change.text = True
    return change


def _on_text(delimiter, change):
    """
    A change of the parsed rows as a change of the file's text.
    """
    def text_change(text):
        rows = change(list(csv.reader(io.StringIO(text, newline=''), delimiter=delimiter)))
        out = io.StringIO()
        csv.writer(out, delimiter=delimiter, lineterminator='\n').writerows(rows)
        return out.getvalue()

    text_change.text = True
    return text_change


def _text(old, new, count=1):
    """
    A change of the file's text (not of its parsed rows): quotes csv would write correctly.
    """

    def change(text):
        assert old in text
        return text.replace(old, new, count)

    change.text = True
    return change


CASES = {
    # corpus: (task, option, file, delimiter, error)
    'social_chem': ('social_chem', 'social_chem_data_dir', SOCIAL_CHEM_FILE, '\t',
                    SocialChemDataError),
    'mic': ('mic', 'mic_data_dir', 'MIC.csv', ',', MicDataError),
    'norm_bank': ('norm_bank', 'norm_bank_data_dir', 'train.moral_acceptability.tsv', '\t',
                  NormBankDataError),
}

BAD = [
    # (corpus, change, what the message must say)
    ('social_chem', _set('split', 'training'), ['line 2', 'rot-id rot/reddit/confessions/a1',
                                                 '"split"', "'training'"]),
    ('social_chem', _set('rot', '  '), ['line 2', '"rot" is empty']),
    ('social_chem', _set('rot-bad', 'yes', 3), ['line 4', '"rot-bad"']),
    ('social_chem', _drop_column('situation'), ['line 1', "no column 'situation'"]),
    ('social_chem', _short_row, ['line 3', 'fields, the header has 25']),
    # a number column: never into the data, nor into an attributes_and_rot target
    ('social_chem', _set('rot-agree', 'most'), ['line 2', '"rot-agree" is \'most\', expected a '
                                                'whole number from 0 to 4, or nothing']),
    ('social_chem', _set('rot-agree', '3.5'), ['line 2', '"rot-agree" is \'3.5\'']),
    ('social_chem', _all_bad, ['no row of split "train" whose RoT is not rot-bad',
                               '--social-chem-keep-bad-rots true']),
    # a quote left open: the lenient reader took the next rows into the field, up to a quote
    ('social_chem', _text('\tnarrator|my friend\n', '\t"narrator|my friend\n'),
     ['line 2: field "characters" opens a quote (") on line 2 that closes on line 5 with text '
      'after it']),
    ('mic', _set('violation-severity', 'high', 2), ['line 3', '"violation-severity" is \'high\'']),
    ('mic', _set('A_agrees', '3'), ['line 2', '"A_agrees" is \'3\', expected a whole number '
                                    'from 0 to 2']),
    # rows merged up to the next quote
    ('mic', _text('How do you treat', '"How do you treat'),
     ['line 7: field "Q" opens a quote (") on line 7 that closes on line 8 with text after it']),
    ('mic', _set('Q', ''), ['line 2', '"Q" is empty']),
    # row 5 starts on line 8: a reply above spans two lines
    ('mic', _set('split', 'val', 5), ['line 8', '"split"', "'val'"]),
    ('mic', _drop_column('rot'), ['line 1', "no column 'rot'"]),
    ('norm_bank', _set('class_label', '2'), ['line 2', '"class_label"', "'2'"]),
    ('norm_bank', _set('class_label', 'bad', 3), ['line 4', '"class_label"']),
    ('norm_bank', _set('text_label', '', 2), ['line 3', '"text_label" is empty']),
    ('norm_bank', _drop_column('input_sequence'), ['line 1', "no column 'input_sequence'"]),
    # a column twice: the second would silently replace the first's values
    ('social_chem', _add_column('rot'), ['line 1: the header has the column \'rot\' 2 times; '
                                         'expected each column once']),
    ('norm_bank', _add_column('class_label'), ["line 1: the header has the column 'class_label' "
                                               '2 times']),
    ('mic', _add_column('rot'), ["line 1: the header has the column 'rot' 2 times"]),
    # saved again with the other delimiter, quoted or not (csv's "'\t' expected after '\"'")
    ('social_chem', _resaved('\t', ','),
     ['line 1: the columns are separated by commas; expected tabs']),
    ('social_chem', _resaved('\t', ',', csv.QUOTE_ALL),
     ['line 1: the columns are separated by commas; expected tabs']),
    ('mic', _resaved(',', '\t', csv.QUOTE_ALL),
     ['line 1: the columns are separated by tabs; expected commas']),
]


@pytest.mark.parametrize('corpus,change,expected', BAD, ids=[
    f'{c}-{i}' for i, (c, _, _) in enumerate(BAD)
])
def test_bad_input_names_file_line_and_field(corpus, change, expected, tmp_path):
    task, option, name, delimiter, error = CASES[corpus]
    directory = write_sample(task, tmp_path)
    path = os.path.join(directory, name)
    if getattr(change, 'text', False):
        with open(path, encoding='utf-8', newline='') as f:
            text = change(f.read())
        with open(path, 'w', encoding='utf-8', newline='') as f:
            f.write(text)
    else:
        _rewrite(path, delimiter, change)
    with pytest.raises(error) as caught:
        testing.create_teacher(task, 'train:ordered', **{option: directory})
    message = str(caught.value)
    assert '\n' not in message
    assert message.startswith(path + ': ')
    for part in expected:
        assert part in message, (part, message)


def test_missing_empty_truncated_and_lfs_files(tmp_path):
    # one corpus: all three share norm_corpora.read_table (their own checks: the table above)
    task, option, name, delimiter, error = CASES['mic']
    directory = write_sample(task, tmp_path)
    path = os.path.join(directory, name)
    with open(path, 'a', encoding='utf-8') as f:  # a download cut inside a quoted field
        f.write('"unterminated' + delimiter + 'x\n')
    with pytest.raises(error, match='line 11: field "Q" opens a quote .* never closed'):
        testing.create_teacher(task, 'train:ordered', **{option: directory})
    with open(path, encoding='utf-8') as f:
        header = f.readline()
    with open(path, 'w', encoding='utf-8') as f:  # it crashed ParlAI's first act()
        f.write(header + '\n')
    with pytest.raises(error, match='no record after the header line; expected at least one'):
        testing.create_teacher(task, 'train:ordered', **{option: directory})
    with open(path, 'w') as f:
        f.write('version https://git-lfs.github.com/spec/v1\noid sha256:00\n')
    with pytest.raises(error, match='Git LFS pointer'):
        testing.create_teacher(task, 'train:ordered', **{option: directory})
    open(path, 'w').close()
    with pytest.raises(error, match='the file is empty'):
        testing.create_teacher(task, 'train:ordered', **{option: directory})
    os.remove(path)
    with pytest.raises(error, match='no such file'):
        testing.create_teacher(task, 'train:ordered', **{option: directory})


@pytest.mark.parametrize(
    'corpus, change, options, expected',
    [
        ('mic', lambda text: text.split('\n')[0] + '\n', [],  # it crashed ParlAI's first act()
         'no record after the header line'),
        ('mic', _text('How do you treat', '"How do you treat'), [],
         'line 7: field "Q" opens a quote'),
        ('social_chem', lambda text: text.replace('\ttrain\t4\t', '\ttrain\tmost\t', 1),
         ['--social-chem-target', 'attributes_and_rot'], 'line 2 (rot-id rot/reddit/confessions/'
         'a1/1/1/): field "rot-agree" is \'most\''),
        # the reader's csv.Error ("'\\t' expected after '\"'") was a traceback
        ('social_chem', _resaved('\t', ',', csv.QUOTE_ALL), [],
         'line 1: the columns are separated by commas; expected tabs'),
        ('norm_bank', _on_text('\t', _add_column('class_label')), [],
         "line 1: the header has the column 'class_label' 2 times"),
    ],
    ids=['only the header', 'a quote left open', 'a word in a number column',
         'social chem saved with commas', 'norm bank with class_label twice'],
)
def test_display_data_stops_with_one_line(tmp_path, corpus, change, options, expected):
    task, option, name, _, error = CASES[corpus]
    directory = write_sample(task, tmp_path)
    path = os.path.join(directory, name)
    with open(path, encoding='utf-8', newline='') as f:
        text = change(f.read())
    with open(path, 'w', encoding='utf-8', newline='') as f:
        f.write(text)
    with pytest.raises(error) as caught:
        testing.parlai_in_process(['display_data', '-t', task, '--' + option.replace('_', '-'),
                                   directory] + options, cwd=str(tmp_path))
    assert str(caught.value).startswith(f'{path}: {expected}')


def test_agreement_gated_corpora_say_how_to_obtain_them(monkeypatch):
    monkeypatch.delenv('MIC_DATA_DIR', raising=False)
    monkeypatch.delenv('NORM_BANK_DATA_DIR', raising=False)
    with pytest.raises(MicDataError) as mic:
        testing.create_teacher('mic', 'train')
    assert 'data use agreement' in str(mic.value)
    assert 'https://forms.gle/kp8bPgFoBHeNL4Q68' in str(mic.value)
    assert '--mic-data-dir' in str(mic.value)
    with pytest.raises(NormBankDataError) as norm_bank:
        testing.create_teacher('norm_bank', 'train')
    assert 'https://forms.gle/VoAVuPUJFNChWhSj8' in str(norm_bank.value)
    assert '--norm-bank-data-dir' in str(norm_bank.value)


# --- Social Chemistry's download (network replaced) ---------------------------------------------


def _fake_download(archive_source):
    def download(url, target, **kwargs):  # as parlai_prosocial.download.fetch
        assert url == social_chem_build.URL
        with zipfile.ZipFile(target, 'w') as z:
            z.write(archive_source, f'social-chem-101/{SOCIAL_CHEM_FILE}')

    return download


def test_social_chem_download_is_built_only_after_its_structure_check(tmp_path, monkeypatch):
    from parlai.core import build_data

    monkeypatch.delenv('SOCIAL_CHEM_DATA_DIR', raising=False)
    good = write_sample('social_chem', tmp_path / 'good')
    datapath = str(tmp_path / 'data')
    dpath = os.path.join(datapath, 'social_chem')

    # a download missing a split (e.g. cut short): refused, nothing marked built
    bad_dir = str(tmp_path / 'bad')
    write_sample('social_chem', bad_dir)
    _rewrite(os.path.join(bad_dir, SOCIAL_CHEM_FILE), '\t',
             lambda rows: [r for r in rows if r[rows[0].index('split')] != 'test'])
    monkeypatch.setattr(social_chem_build, 'fetch',
                        _fake_download(os.path.join(bad_dir, SOCIAL_CHEM_FILE)))
    with pytest.raises(SocialChemDataError, match='no norms in split test'):
        testing.create_teacher('social_chem', 'train', datapath=datapath)
    assert not build_data.built(dpath)

    # an HTML error page instead of the archive
    def html(url, target, **kwargs):
        with open(target, 'w') as f:
            f.write('<html>quota exceeded</html>')

    monkeypatch.setattr(social_chem_build, 'fetch', html)
    with pytest.raises(SocialChemDataError, match='not a zip archive'):
        testing.create_teacher('social_chem', 'train', datapath=datapath)
    assert not build_data.built(dpath)

    monkeypatch.setattr(social_chem_build, 'fetch',
                        _fake_download(os.path.join(good, SOCIAL_CHEM_FILE)))
    messages = testing.one_epoch(
        testing.create_teacher('social_chem', 'train:ordered', datapath=datapath)
    )
    assert len(messages) == 4
    assert build_data.built(dpath, social_chem_build.VERSION)
    assert os.path.isfile(os.path.join(dpath, SOCIAL_CHEM_FILE))
    assert not os.path.exists(os.path.join(dpath, social_chem_build.ARCHIVE))
    assert social_chem_build.SHA256 is None  # not pinned: never invented

    # built: no second download
    monkeypatch.setattr(social_chem_build, 'fetch', lambda *a, **k: pytest.fail('downloaded again'))
    assert len(testing.one_epoch(
        testing.create_teacher('social_chem', 'valid', datapath=datapath))) == 2
