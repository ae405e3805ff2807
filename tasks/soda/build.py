"""
Where the SODA files come from, and where their index is cached.

With ``--soda-data-dir DIR`` (or ``$SODA_DATA_DIR``) the files ``{train,valid,test}.parquet`` are
read from DIR: the offline path, for the files of ``huggingface.co/datasets/allenai/soda``.

Otherwise the three files are downloaded into ``{datapath}/soda`` with the plugin's download
helper (:mod:`parlai_prosocial.download`: a ``.part`` file renamed only after its size and sha256
match, HTTP errors reported as such, the free disk space checked first, concurrent builds
serialised by a file lock): URLs pinned to the dataset's "Upload SODA v1" commit (``REVISION``; the
later commits of the repository only edit the README and the viewer's converted copies), each
file checked against the sha256 of its Git LFS pointer in that commit, and a ``.built`` marker
written only after all three are downloaded and verified.

The index of each file (see ``data.py``) and, for files with huge row groups, their re-chunked
copy go to ``--soda-cache-dir`` (``$SODA_CACHE_DIR``), by default ``{datapath}/soda/cache``.
"""

import os

from parlai_prosocial.download import build_once, fetch
from parlai_prosocial.data_files import data_dir_env, local_dir_or_build

from .data import split_path

DATA_DIR_ENV = data_dir_env('soda')
CACHE_DIR_ENV = 'SODA_CACHE_DIR'

#: allenai/soda commit d80f168 "Upload SODA v1" (2023-01-04)
REVISION = 'd80f16879432016b62fa3d32d0fc4eeea4af78aa'
_URL = 'https://huggingface.co/datasets/allenai/soda/resolve/' + REVISION + '/{}'

#: file -> (sha256, size in bytes), from the Git LFS pointers of commit ``REVISION``
FILES = {
    'train.parquet': (
        'b21314575fdc4cbf9fc74f7af4854d55fba8cc9ba72f2f3791ae2df8b23032c4',
        688771672,
    ),
    'valid.parquet': ('3e813e5b14c4edca5849cb7922f9c38568ecb71f27931a7c4c29ec1160bd0d1c', 82869716),
    'test.parquet': ('edd0a57b460fa7faa3782b332327f3a4bc9681dcaaec88e77727c47fd5870180', 84204550),
}

VERSION = 'hf-' + REVISION[:7]


def url(name):
    return _URL.format(name)


def build(opt):
    return build_once(os.path.join(opt['datapath'], 'soda'), VERSION, _download)


def _download(dpath):
    for name, (sha256, size) in FILES.items():
        fetch(url(name), os.path.join(dpath, name), sha256=sha256, size=size)


def data_dir(opt):
    """
    The directory holding the split files, downloading them first when needed.
    """
    return local_dir_or_build(opt, 'soda_data_dir', build)


def datafile(opt):
    return split_path(data_dir(opt), opt['datatype'].split(':')[0])


def cache_dir(opt):
    return opt.get('soda_cache_dir') or os.path.join(opt['datapath'], 'soda', 'cache')
