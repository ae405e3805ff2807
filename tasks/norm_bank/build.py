"""
Where the Commonsense Norm Bank comes from: only a local directory (``--norm-bank-data-dir DIR``
or ``$NORM_BANK_DATA_DIR``) holding the release's files. The Norm Bank is shared through a
request form, so nothing is downloaded; without the option the teacher stops with a message saying
how to obtain the files (:data:`~.data.OBTAIN`).
"""

import os

from parlai_prosocial.data_files import data_dir_env

from .data import OBTAIN, NormBankDataError, file_name

DATA_DIR_ENV = data_dir_env('norm_bank')


def data_files(opt, split, modes):
    directory = opt.get('norm_bank_data_dir')
    if not directory:
        raise NormBankDataError(f'no --norm-bank-data-dir given. {OBTAIN}.')
    return [os.path.join(directory, file_name(split, mode)) for mode in modes]
