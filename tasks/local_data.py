"""
What every task of this plugin does the same way with its files: a ``--<task>-data-dir`` option
(defaulting to an environment variable) that replaces the download, one parse of a file shared
by every teacher copy, and JSON Lines read with errors that name the file and line.
"""

import functools
import json
import os


def add_data_dir_argument(group, option, env_var, files):
    """
    ``option`` (e.g. ``--prosocial-data-dir``): read ``files`` from a local directory.
    """
    group.add_argument(
        option,
        type=str,
        default=os.environ.get(env_var),
        help=f'read {files} from this directory instead of downloading them; '
        f'default: ${env_var}',
    )


def local_dir_or_build(opt, key, build):
    """
    The directory given by ``opt[key]``, else the one ``build(opt)`` downloads and returns.
    """
    return opt.get(key) or build(opt)


def parsed_once_per_file(read):
    """
    ``read(path)``, remembered per (path, modification time, size): every teacher copy (batch
    workers, valid/test teachers) shares one parse, and an edited file is read again.
    """

    @functools.lru_cache(maxsize=8)
    def cached(path, mtime_ns, size):
        return read(path)

    @functools.wraps(read)
    def load(path):
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            return read(path)  # raises the reader's own error, which names the missing file
        return cached(path, stat.st_mtime_ns, stat.st_size)

    return load


def json_lines(path, error):
    """
    ``(line_number, where, row)`` for every non-blank line of a JSON Lines file, ``where`` being
    ``"<path>: line N"``; a line that is not UTF-8 or not JSON raises ``error`` naming it.
    """
    # bytes, decoded line by line, so a line that is not UTF-8 is reported with its number
    with open(path, 'rb') as f:
        for line_number, raw_line in enumerate(f, start=1):
            where = f'{path}: line {line_number}'
            try:
                line = raw_line.decode('utf-8')
            except UnicodeDecodeError as e:
                raise error(
                    f'{where}: not UTF-8 text ({e.reason} at byte {e.start} of the line)'
                ) from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise error(f'{where}: not valid JSON ({e.msg}); is the file truncated?') from None
            yield line_number, where, row
