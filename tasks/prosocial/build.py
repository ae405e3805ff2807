"""
Where the ProsocialDialog files come from.

With ``--prosocial-data-dir DIR`` (or the ``PROSOCIAL_DATA_DIR`` environment variable) the files
``{train,valid,test}.json`` are read from DIR, in either official layout: this is the offline path
(HF files from ``huggingface.co/datasets/allenai/prosocial-dialog`` or the direct download).

Otherwise the official direct download is fetched into ``{datapath}/prosocial_dialog``, the
directory, URL, sha256 and version of ParlAI's own ``prosocial_dialog`` build (one copy of them,
read from ParlAI's ``RESOURCES``, shared with ParlAI's built-in task), but through this plugin's
download helper (:mod:`parlai_prosocial.download`): the archive goes to a ``.part`` file and gets
its name only once it is whole and its sha256 matches, an HTTP error is reported as such,
concurrent builds of one ``--datapath`` wait for each other (a file lock), and the ``.built``
marker is written only after the archive is verified and unpacked, so a half-finished download is
never taken for a finished one.
"""

import os

from parlai_prosocial.download import build_once, fetch
from parlai_prosocial.data_files import data_dir_env, local_dir_or_build

from .data import split_path

DATA_DIR_ENV = data_dir_env('prosocial')

#: the version string of ParlAI's ``prosocial_dialog`` build (its ``.built`` marker)
VERSION = '0.1'


def resource():
    """
    ParlAI's ``DownloadableFile`` for the direct download (url, file_name, hashcode).
    """
    from parlai.tasks.prosocial_dialog import build as parlai_prosocial_build

    (archive,) = parlai_prosocial_build.RESOURCES
    return archive


def data_dir(opt):
    """
    The directory holding the split files, downloading them first when needed.
    """
    return local_dir_or_build(opt, 'prosocial_data_dir', build)


def build(opt):
    dpath = os.path.join(opt['datapath'], 'prosocial_dialog')
    return build_once(dpath, VERSION, _download_and_unpack)


def _download_and_unpack(dpath):
    from parlai.core import build_data

    archive = resource()
    fetch(archive.url, os.path.join(dpath, archive.file_name), sha256=archive.hashcode)
    build_data.untar(dpath, archive.file_name)


def datafile(opt):
    return split_path(data_dir(opt), opt['datatype'].split(':')[0])
