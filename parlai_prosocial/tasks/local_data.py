"""
What every task of this plugin does the same way with its files: a ``--<task>-data-dir`` option
(defaulting to an environment variable) that replaces the download, and one parse of a file shared
by every teacher copy.
"""

import functools
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
