"""
The one check of a folder a command is told to write into (``samples DIR``, the offline data
line, the report's ``--report-dir``, the export's ``--out``), before any work.

A folder may be written when it can be made and written: not empty as an argument (an unset
shell variable), not a file, not under a file, not a dangling symbolic link (itself or a folder
above it), with names the file system takes, and writable (tried, not guessed from the mode bits:
root passes those, a read-only mount does not). Whether a folder that holds files may be used is
each command's own rule (its ``--overwrite``).
"""

import errno
import os
import tempfile


def checked_output_folder(given, option, error):
    """
    The absolute folder ``given`` (the argument as typed) names, or ``error`` (a
    :class:`~parlai_prosocial.errors.ProsocialError` class) raised with one line naming
    ``option`` for each way nothing could be written there. The folder need not exist yet.
    """
    given = None if given is None else str(given)
    if given is None:
        raise error(f'{option} is missing: give the folder to write into')
    if not given.strip():
        raise error(f'{option} is empty ({given!r}: an unset shell variable?): give the folder '
                    'to write into')
    folder = os.path.abspath(os.path.expanduser(given))
    _check_names(folder, f'{option} {given}', error)
    existing = folder
    while not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    if os.path.islink(existing) and not os.path.exists(existing):
        what = 'is' if existing == folder else f'lies under {existing}, which is'
        raise error(f'{option} {given} {what} a symbolic link to {os.readlink(existing)}, which '
                    'does not exist: remove the link or create its target')
    if not os.path.isdir(existing):
        if existing == folder:
            raise error(f'{option} {given} is a file, not a folder: give a folder')
        raise error(f'{option} {given}: {existing} is a file, so no folder can be made under it')
    try:  # a folder made and removed again: what writing there will do first
        os.rmdir(tempfile.mkdtemp(prefix='.write_probe_', dir=existing))
    except OSError as e:
        reason = e.strerror or type(e).__name__
        if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            reason = f'not writable: {reason}'
        raise error(f'{option} {given}: cannot write in {existing} ({reason})') from None
    return folder


def _check_names(folder, named, error):
    """
    Each name no longer than the file system takes (else ``ENAMETOOLONG`` when it is made).
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
            raise error(f'{named}: the name {name[:20]}... is {len(os.fsencode(name))} bytes '
                        f'long, longer than the file system takes ({name_max})')
    if len(os.fsencode(folder)) >= path_max:
        raise error(f'{named}: the path is {len(os.fsencode(folder))} bytes long, longer than '
                    f'the file system takes ({path_max - 1})')
