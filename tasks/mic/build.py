"""
Where MIC comes from: only a local directory (``--mic-data-dir DIR`` or ``$MIC_DATA_DIR``) holding
the release's ``MIC.csv``. MIC is distributed under a data use agreement, so nothing is downloaded;
without the option the teacher stops with a message saying how to obtain the file
(:data:`~.data.OBTAIN`).
"""

import os

from parlai_prosocial.data_files import data_dir_env

from .data import FILE, OBTAIN, MicDataError

DATA_DIR_ENV = data_dir_env('mic')


def data_file(opt):
    directory = opt.get('mic_data_dir')
    if not directory:
        raise MicDataError(f'no --mic-data-dir given. {OBTAIN}.')
    return os.path.join(directory, FILE)
