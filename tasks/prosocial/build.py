"""
Where the ProsocialDialog files come from.

With ``--prosocial-data-dir DIR`` (or the ``PROSOCIAL_DATA_DIR`` environment variable) the files
``{train,valid,test}.json`` are read from DIR, in either official layout: this is the offline path
(HF files from ``huggingface.co/datasets/allenai/prosocial-dialog`` or the direct download).

Otherwise the official direct download is fetched by ParlAI's own ``prosocial_dialog`` build: one
``DownloadableFile`` with its sha256, a tqdm progress bar, a ``.part`` file until the download is
whole, and a ``.built`` marker written only after the archive is verified and unpacked, so a
half-finished download is never taken for a finished one. Reusing it keeps one copy of the URL and
checksum, shared with ParlAI's built-in task.
"""

import os

from parlai.tasks.prosocial_dialog import build as parlai_prosocial_build

from parlai_prosocial.tasks.local_data import local_dir_or_build

from .data import split_path

DATA_DIR_ENV = 'PROSOCIAL_DATA_DIR'


def data_dir(opt):
    """
    The directory holding the split files, downloading them first when needed.
    """
    return local_dir_or_build(opt, 'prosocial_data_dir', _parlai_build)


def _parlai_build(opt):
    parlai_prosocial_build.build(opt)
    return os.path.join(opt['datapath'], 'prosocial_dialog')


def datafile(opt):
    return split_path(data_dir(opt), opt['datatype'].split(':')[0])
