"""
The report folder (``--report-dir``): checked before any work, emptied of an earlier report's
files with ``--overwrite``, and the one place the report writes.

A folder the report may write is one that can be made and written: not a file, not under a file,
not a dangling symbolic link, with names the file system takes, writable (tried, not guessed from
the mode bits: root passes those, a read-only mount does not), and not already used unless
``--overwrite``. With ``--overwrite`` only the files a report writes (:data:`REPORT_FILES`) are
removed, just before the new ones are written (a run that fails keeps the earlier report); any
other file in the folder is the user's and is kept, and the report says which.
"""

import errno
import os
import tempfile

from .script import ReportError

#: every file a report may write into its folder (the charts a run does not draw too, so an
#: earlier run's chart never stays beside a new report)
RESULTS_FILE = 'results.json'
MARKDOWN_FILE = 'report.md'
CHART_FILES = {
    'quality': 'quality_by_level.png',
    'toxichat': 'toxichat.png',
    'steered': 'steered_by_level.png',
}
REPORT_FILES = (RESULTS_FILE, MARKDOWN_FILE) + tuple(CHART_FILES.values())


def check_report_dir(report_dir, overwrite):
    """
    The absolute folder ``--report-dir`` names, after every check that can be made without
    writing it; one line (:class:`ReportError`) for each way it cannot be used.
    """
    option = '--report-dir'
    if report_dir is None:
        raise ReportError(f'{option} is missing: give the folder to write the report to')
    if not report_dir.strip():
        raise ReportError(f'{option} is empty ({report_dir!r}): give the folder to write the '
                          'report to')
    folder = os.path.abspath(os.path.expanduser(report_dir))
    _check_names(folder, report_dir)
    existing = folder
    while not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    if os.path.islink(existing) and not os.path.exists(existing):
        target = os.readlink(existing)
        what = 'is' if existing == folder else f'lies under {existing}, which is'
        raise ReportError(f'{option} {report_dir} {what} a symbolic link to {target}, which does '
                          'not exist: remove the link or create its target')
    if not os.path.isdir(existing):
        if existing == folder:
            raise ReportError(f'{option} {report_dir} is a file, not a folder: give a folder')
        raise ReportError(f'{option} {report_dir}: {existing} is a file, so no folder can be '
                          'made under it')
    _check_writable(existing, report_dir)
    if existing == folder:
        used = sorted(os.listdir(folder))
        if used and not overwrite:
            what = 'an earlier report' if RESULTS_FILE in used else f'{len(used)} entries'
            listing = ', '.join(used[:4]) + (', ...' if len(used) > 4 else '')
            raise ReportError(
                f'{option} {folder} is not empty (it holds {what}: {listing}): add --overwrite '
                'to replace the report files in it, or give another folder')
    return folder


def _check_names(folder, given):
    """
    Each name no longer than the file system takes (else ``ENAMETOOLONG`` when the folder is made).
    """
    existing = folder
    while not os.path.isdir(existing):
        existing = os.path.dirname(existing)
    try:
        name_max = os.pathconf(existing, 'PC_NAME_MAX')
        path_max = os.pathconf(existing, 'PC_PATH_MAX')
    except (OSError, ValueError, AttributeError):
        name_max, path_max = 255, 4096
    for name in folder.split(os.sep):
        if len(os.fsencode(name)) > name_max:
            raise ReportError(
                f'--report-dir {given}: the name {name[:20]}... is {len(os.fsencode(name))} bytes '
                f'long, longer than the file system takes ({name_max})')
    if len(os.fsencode(folder)) >= path_max:
        raise ReportError(f'--report-dir {given}: the path is {len(os.fsencode(folder))} bytes '
                          f'long, longer than the file system takes ({path_max - 1})')


def _check_writable(existing, given):
    # a folder made and removed again: what writing the report will do first
    try:
        probe = tempfile.mkdtemp(prefix='.report_probe_', dir=existing)
        os.rmdir(probe)
    except OSError as e:
        reason = e.strerror or type(e).__name__
        if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            reason = f'not writable: {reason}'
        raise ReportError(f'--report-dir {given}: cannot write in {existing} ({reason})')


def prepare(folder):
    """
    Make ``folder`` and remove an earlier report's files from it; returns ``(removed, kept)``:
    the file names removed, and the names of the other entries left as they were.
    """
    try:
        os.makedirs(folder, exist_ok=True)
        removed, kept = [], []
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if name in REPORT_FILES and (os.path.isfile(path) or os.path.islink(path)):
                os.remove(path)
                removed.append(name)
            else:
                kept.append(name)
    except OSError as e:
        raise ReportError(f'--report-dir {folder}: {e.strerror or e}') from None
    return removed, kept
