"""
The report folder (``--report-dir``): checked before any work, emptied of an earlier report's
files with ``--overwrite``, and the one place the report writes.

A folder the report may write is one that can be made and written
(:func:`parlai_prosocial.output_folder.checked_output_folder`) and not already used unless
``--overwrite``. With ``--overwrite`` only the files a report writes (:data:`REPORT_FILES`) are
removed, just before the new ones are written (a run that fails keeps the earlier report); any
other file in the folder is the user's and is kept, and the report says which.
"""

import os

from parlai_prosocial.output_folder import checked_output_folder

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
    folder = checked_output_folder(report_dir, '--report-dir', ReportError)
    used = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    if used and not overwrite:
        what = 'an earlier report' if RESULTS_FILE in used else f'{len(used)} entries'
        listing = ', '.join(used[:4]) + (', ...' if len(used) > 4 else '')
        raise ReportError(
            f'--report-dir {folder} is not empty (it holds {what}: {listing}): add --overwrite '
            'to replace the report files in it, or give another folder')
    return folder


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
