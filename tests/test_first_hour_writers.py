"""
The commands of the first hour that write into a folder, ``python -m parlai_prosocial.samples NAME
DIR`` and the offline data line (``python -m parlai_prosocial.offline_data DIR``), never replace a
file they did not write there unless told (``--overwrite``), stop before writing anything when
one is in the way, and refuse a folder argument that cannot be one, each with one line; a wrong
argument (here and in the listing, ``python -m parlai_prosocial``) is one line too, exit status 2.
Each runs through the command's own ``main`` in this process; one run goes through the real
command line.
"""

import os
import subprocess
import sys

import pytest

from parlai_prosocial import offline_data
from parlai_prosocial.samples import WRITTEN_LIST, sample_dir
from parlai_prosocial.samples.__main__ import main as samples_main
from parlai_prosocial.testing import one_line_error


def run_samples(*args):
    return samples_main([str(a) for a in args])


def run_offline(*args):
    return offline_data.main([str(a) for a in args])


COMMANDS = {'samples': lambda directory, *flags: run_samples('prosocial', directory, *flags),
            'offline data': run_offline}


def refusal(command, *args):
    """
    The one line ``command`` stops with.
    """
    return one_line_error(COMMANDS[command], *args)


def snapshot(directory):
    """
    Every file under ``directory`` -> its bytes.
    """
    files = {}
    for root, _dirs, names in os.walk(directory):
        for name in names:
            with open(os.path.join(root, name), 'rb') as f:
                files[os.path.relpath(os.path.join(root, name), directory)] = f.read()
    return files


def test_a_samples_folder_is_written_again_but_a_users_file_is_kept(tmp_path, capsys):
    directory = tmp_path / 'prosocial'
    run_samples('prosocial', directory)
    assert capsys.readouterr().out.strip() == str(directory)
    run_samples('prosocial', directory)  # its own files: written again
    (directory / 'valid.json').write_text('my own data\n')
    (directory / 'mine.txt').write_text('not in the sample\n')
    before = snapshot(directory)
    line = refusal('samples', directory)
    assert line == (
        f'WouldOverwriteError: {directory}/valid.json already exists (not written there by '
        'parlai_prosocial, or changed since); nothing was written, to keep your files: give '
        'another folder, or add --overwrite to replace them'
    )
    assert snapshot(directory) == before
    run_samples('prosocial', directory, '--overwrite')
    written = snapshot(directory)
    with open(os.path.join(sample_dir('prosocial'), 'valid.json'), 'rb') as f:
        assert written['valid.json'] == f.read()
    assert written['mine.txt'] == b'not in the sample\n'  # never in the way: left alone


def test_a_file_of_the_same_name_elsewhere_is_refused(tmp_path):
    # the user's own data, written before the sample ever was: no list of ours in the folder
    directory = tmp_path / 'data'
    directory.mkdir()
    (directory / 'train.json').write_text('{"my": "row"}\n')
    (directory / 'test.json').symlink_to(tmp_path / 'elsewhere.json')
    line = refusal('samples', directory)
    assert line.startswith(f'WouldOverwriteError: {directory}/test.json already exists (a '
                           'symbolic link), and 1 more file; nothing was written')
    assert sorted(os.listdir(directory)) == ['test.json', 'train.json']


def test_the_offline_line_keeps_the_users_files_and_writes_nothing(tmp_path, capsys):
    directory = tmp_path / 'offline'
    run_offline(directory)
    first = capsys.readouterr().out
    run_offline(directory)  # the same folder again: its own files, the same lines
    assert capsys.readouterr().out == first
    # the user's own tiny T5 and data where the line writes its own
    (directory / 'tiny_t5' / 'config.json').write_text('{"my": "t5"}')
    (directory / 'soda' / 'train.parquet').write_bytes(b'my parquet')
    before = snapshot(directory)
    line = refusal('offline data', directory)
    assert line.startswith(f'WouldOverwriteError: {directory}/soda/train.parquet already exists '
                           '(not written there by parlai_prosocial, or changed since), and 1 more '
                           'file; nothing was written')
    assert snapshot(directory) == before
    run_offline(directory, '--overwrite')
    assert (directory / 'tiny_t5' / 'config.json').read_text() != '{"my": "t5"}'


def test_the_offline_line_writes_nothing_over_a_real_casual_dataset(tmp_path):
    from parlai.core import build_data

    real = tmp_path / 'offline' / 'parlai_data' / 'dailydialog'
    real.mkdir(parents=True)
    (real / 'train.json').write_text('real data\n')
    build_data.mark_done(str(real), version_string='None')
    line = refusal('offline data', tmp_path / 'offline')
    assert f'{real}/.built already exists' in line, line
    assert sorted(os.listdir(tmp_path / 'offline')) == ['parlai_data']  # nothing else written
    assert (real / 'train.json').read_text() == 'real data\n'


def _a_file(tmp_path):
    (tmp_path / 'a_file').write_text('mine')
    return tmp_path / 'a_file', 'the folder {arg} is a file, not a folder: give a folder'


def _under_a_file(tmp_path):
    (tmp_path / 'a_file').write_text('mine')
    return (tmp_path / 'a_file' / 'sub',
            f'the folder {{arg}}: {tmp_path}/a_file is a file, so no folder can be made under it')


def _dangling(tmp_path):
    (tmp_path / 'link').symlink_to(tmp_path / 'gone')
    return tmp_path / 'link', f'the folder {{arg}} is a symbolic link to {tmp_path}/gone, which ' \
                              'does not exist'


def _unwritable(tmp_path):
    # /proc takes no new folder, whoever runs the test (root may write anywhere else)
    return '/proc/parlai_prosocial_test/offline', ''


FOLDER_ARGUMENTS = {
    'empty (DIR= unset)': lambda tmp_path: (
        '', "the folder is empty ('': an unset shell variable?)"),
    'a file': _a_file,
    'under a file': _under_a_file,
    'a dangling symbolic link': _dangling,
    'unwritable': _unwritable,
}


@pytest.mark.parametrize('command', sorted(COMMANDS))
@pytest.mark.parametrize('case', sorted(FOLDER_ARGUMENTS))
def test_a_folder_argument_that_cannot_be_one(command, case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argument, expected = FOLDER_ARGUMENTS[case](tmp_path)
    before = sorted(os.listdir(tmp_path))
    line = refusal(command, argument)
    assert line.startswith('DestinationError: '), line
    assert expected.format(arg=argument) in line, line
    assert sorted(os.listdir(tmp_path)) == before  # nothing written, not in the current folder


def test_an_unwritable_folder(tmp_path):
    if os.geteuid() == 0:
        pytest.skip('root writes into any folder')
    folder = tmp_path / 'read_only'
    folder.mkdir(mode=0o500)
    line = refusal('samples', folder / 'sample')
    assert line.startswith(f'DestinationError: the folder {folder}/sample: cannot write in '
                           f'{folder} (not writable: Permission denied)'), line


@pytest.mark.parametrize('args, message', [
    (['nope', 'DIR'], "argument NAME: invalid choice: 'nope'"),
    (['prosocial', 'DIR', '--force'], 'unrecognized arguments: --force'),
    ([], 'the following arguments are required: NAME, DIRECTORY'),
])
def test_a_wrong_argument_is_one_line(args, message, capsys):
    with pytest.raises(SystemExit) as info:
        samples_main(args)
    assert info.value.code == 2
    error = capsys.readouterr().err
    assert error.count('\n') == 1 and message in error, error
    assert error.startswith('python -m parlai_prosocial.samples: error: ')


def test_the_command_line_shows_one_line(tmp_path):
    (tmp_path / 'train.json').write_text('mine\n')
    result = subprocess.run(
        [sys.executable, '-m', 'parlai_prosocial.samples', 'prosocial', str(tmp_path)],
        capture_output=True, text=True,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f'WouldOverwriteError: {tmp_path}/train.json already exists')
    assert result.stderr.count('\n') == 1 and not result.stdout
    assert (tmp_path / 'train.json').read_text() == 'mine\n'
    assert not (tmp_path / WRITTEN_LIST).exists()


@pytest.mark.parametrize('args, message', [
    (['no_such_name'], 'no such name: no_such_name (without a NAME it lists them all)'),
    (['--all'], 'unrecognized arguments: --all'),
])
def test_the_listing_refuses_an_unknown_name_or_flag(args, message, capsys):
    from parlai_prosocial.__main__ import main as listing_main

    with pytest.raises(SystemExit) as info:
        listing_main(argv=args)
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert not captured.out and captured.err.count('\n') == 1, captured
    assert captured.err.startswith(f'python -m parlai_prosocial: error: {message}'), captured.err


def test_the_listing_of_some_names(capsys):
    from parlai_prosocial.__main__ import main as listing_main

    listing_main(argv=['tiny_prost', 'toxichat'])
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]
             if line.startswith('  ')]
    assert names == ['toxichat', 'toxichat:thread', 'toxichat:stance', 'toxichat:offensive',
                     'prosocial/tiny_prost'], names
