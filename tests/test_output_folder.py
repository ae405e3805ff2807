"""
The one check of a folder a command writes into (``output_folder.checked_output_folder``), as the
three commands that take one use it: ``samples`` / the offline line (``DIR``), the report
(``--report-dir``) and the export (``--out``). Each way nothing can be written there is the same
one line, under the command's own error and option name, before any work.
"""

import os

import pytest

from parlai_prosocial.errors import ExportError
from parlai_prosocial.export import check_out
from parlai_prosocial.report.folder import check_report_dir
from parlai_prosocial.report.script import ReportError
from parlai_prosocial.samples import DestinationError, check_destination

CALLERS = {
    'samples': (lambda given: check_destination(given), DestinationError, 'the folder'),
    'report': (lambda given: check_report_dir(given, False), ReportError, '--report-dir'),
    'export': (lambda given: check_out(given, False), ExportError, '--out'),
}


def _case(name, tmp_path):
    (tmp_path / 'a_file').write_text('mine')
    (tmp_path / 'link').symlink_to(tmp_path / 'gone')
    return {
        'empty': ('', "is empty ('': an unset shell variable?)"),
        'a file': (tmp_path / 'a_file', f'{tmp_path}/a_file is a file, not a folder'),
        'under a file': (tmp_path / 'a_file' / 'sub',
                         f'{tmp_path}/a_file is a file, so no folder can be made under it'),
        'a dangling link': (tmp_path / 'link', f'is a symbolic link to {tmp_path}/gone, which '
                            'does not exist'),
        'under a dangling link': (tmp_path / 'link' / 'sub', f'lies under {tmp_path}/link, which '
                                  'is a symbolic link'),
        'a name too long': (tmp_path / ('n' * 300), 'longer than the file system takes'),
        'not writable': ('/proc/parlai_prosocial_test/out', 'cannot write in /proc'),
    }[name]


@pytest.mark.parametrize('caller', sorted(CALLERS))
@pytest.mark.parametrize('case', ['empty', 'a file', 'under a file', 'a dangling link',
                                  'under a dangling link', 'a name too long', 'not writable'])
def test_a_folder_that_cannot_be_written_is_one_line(caller, case, tmp_path):
    check, error, option = CALLERS[caller]
    given, expected = _case(case, tmp_path)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(error) as raised:
        check(str(given))
    line = str(raised.value)
    assert line.startswith(option) and expected in line and '\n' not in line, line
    assert sorted(os.listdir(tmp_path)) == before


@pytest.mark.parametrize('caller', sorted(CALLERS))
def test_a_new_folder_under_an_existing_one_is_fine(caller, tmp_path):
    check, _, _ = CALLERS[caller]
    assert check(str(tmp_path / 'new' / 'folder')) == str(tmp_path / 'new' / 'folder')
    assert not (tmp_path / 'new').exists()  # checked, not made
