"""
Where the ToxiChat files and the bad-word list come from.

With ``--toxichat-data-dir DIR`` (or the ``TOXICHAT_DATA_DIR`` environment variable) the files are
read from DIR as the releases name them: ``train.jsonl``, ``dev.jsonl``, ``test.jsonl`` (only the
split in use must be there) and, for the ``toxichat`` evaluation teacher's ``toxichat_bad``
metric, ``word_based_bias_list.csv`` (or give that file with ``--toxichat-bad-words-file``). This
is the offline path and the way to use copies you checked yourself.

Otherwise the four files are downloaded into ``<datapath>/toxichat`` with the plugin's download
helper (:mod:`parlai_prosocial.download`: ``.part`` file until whole, sha256 checked before the
rename, HTTP errors reported as such, concurrent builds serialised by a file lock), then each is
read with the same readers the teacher uses, and only then is the ``.built`` marker written, so an
interrupted or corrupted download is never taken for a finished one (the next run starts again
from an empty directory).

* ToxiChat (Baheti et al., 2021; CC-BY-SA): ``data/ToxiChat/*.jsonl`` of ``abaheti95/ToxiChat``,
  pinned to the commit that added them, so the checksums cannot go stale.
* The bad-word list (Zhou et al., 2021b; Apache-2.0): ``data/word_based_bias_list.csv`` of
  ``XuhuiZhou/Toxic_Debias``, from its ``main`` branch (the commit of the file was not known here).

The sha256 values were computed from copies of these upstream files (1,400 / 300 / 300 threads;
403 word-list entries); if upstream's ``main`` ever changes the word list, the checksum error says
so, and ``--toxichat-bad-words-file`` takes a copy you trust.
"""

import os

from parlai.utils import logging

from parlai_prosocial.download import build_once, fetch
from parlai_prosocial.data_files import data_dir_env, local_dir_or_build

from .badwords import read_bad_words
from .data import SPLIT_FILES, ToxiChatDataError, read_threads, split_path

DATA_DIR_ENV = data_dir_env('toxichat')

VERSION = 'v1.0'

TOXICHAT_COMMIT = '6c77dc5500989c4b11bf443cde9013e57128cc8e'
TOXICHAT_URL = (
    'https://raw.githubusercontent.com/abaheti95/ToxiChat/' + TOXICHAT_COMMIT + '/data/ToxiChat/{}'
)

BAD_WORDS_FILE = 'word_based_bias_list.csv'
BAD_WORDS_URL = (
    'https://raw.githubusercontent.com/XuhuiZhou/Toxic_Debias/main/data/' + BAD_WORDS_FILE
)

#: file name -> (URL, sha256)
FILES = {
    'train.jsonl': (
        TOXICHAT_URL.format('train.jsonl'),
        '806da95ba491888626a18c0324e9d6ec906450ba9fef92b54343ebf44e48682a',
    ),
    'dev.jsonl': (
        TOXICHAT_URL.format('dev.jsonl'),
        '591742cdf73b9fcae4f555cbccb5d49237b470172dd0fd07a4829cebc0060ace',
    ),
    'test.jsonl': (
        TOXICHAT_URL.format('test.jsonl'),
        '13e67afb0806b1865d446ea3d730578d750d9be4127fdd872ef7cc903b52f9bb',
    ),
    BAD_WORDS_FILE: (
        BAD_WORDS_URL,
        'd0ae367a32bc92dcf27844cf6c1836bd6250fcbfac911fcfe687a0b686f1f5dc',
    ),
}


def build(opt):
    """
    Download and verify the files into ``<datapath>/toxichat`` unless already done; its path.
    """
    return build_once(os.path.join(opt['datapath'], 'toxichat'), VERSION, _download_and_verify)


def _download_and_verify(dpath):
    logging.info(f'building data: {dpath}')
    for name, (url, sha256) in FILES.items():
        fetch(url, os.path.join(dpath, name), sha256=sha256)
    for name in SPLIT_FILES.values():
        read_threads(os.path.join(dpath, name))
    read_bad_words(os.path.join(dpath, BAD_WORDS_FILE))


def data_dir(opt):
    """
    The directory holding the files, downloading them first when needed.
    """
    return local_dir_or_build(opt, 'toxichat_data_dir', build)


def datafile(opt):
    return split_path(data_dir(opt), opt['datatype'].split(':')[0])


def bad_words_file(opt):
    """
    The word list: ``--toxichat-bad-words-file``, else the one in the data directory.
    """
    explicit = opt.get('toxichat_bad_words_file')
    if explicit:
        return explicit
    path = os.path.join(data_dir(opt), BAD_WORDS_FILE)
    if not os.path.isfile(path):
        raise ToxiChatDataError(
            f'{path}: no such file; the toxichat_bad metric needs the word list of Zhou et al. '
            f'(2021b): put {BAD_WORDS_FILE} ({BAD_WORDS_URL}) in the data directory or pass '
            '--toxichat-bad-words-file'
        )
    return path
