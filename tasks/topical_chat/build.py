"""
Where the Topical-Chat conversation files come from.

With ``--topical-chat-data-dir DIR`` (or the ``TOPICAL_CHAT_DATA_DIR`` environment variable) the
files are read from DIR as the release names them (``train.json``, ``valid_freq.json``,
``valid_rare.json``, ``test_freq.json``, ``test_rare.json``; only the files of the split in use must
be there). This is the offline path, and the way to use a copy you checked yourself.

Otherwise the five files are downloaded from the release's raw GitHub URLs
(``https://raw.githubusercontent.com/alexa/Topical-Chat/master/conversations/<file>``, data under
CDLA-Sharing 1.0) into ``<datapath>/topical_chat`` with the plugin's download helper
(:mod:`parlai_prosocial.download`: a ``.part`` file renamed only once whole and checked, HTTP
errors reported as such, concurrent builds serialised by a file lock), and a ``.built`` marker is
written only once all five are downloaded and verified; an interrupted or failed build leaves no
marker, so the next run starts again from an empty directory. How each file is verified:

* the four valid/test files: their sha256. The checksums were
  computed from copies of the release files (they match the sizes of the files at commit
  ``8a485f76`` of alexa/Topical-Chat, whose README gives 539 conversations per file, as they hold).
* ``train.json``: no checksum could be computed here (the file was not available when this was
  written). It is downloaded and then accepted only if it parses completely with the same
  reader the teacher uses (every conversation, turn and field checked) and holds the numbers
  the release README gives for it,
  8,628 conversations and 188,378 utterances (turns). A truncated download, an HTML error page
  or a Git LFS pointer fails that check with a :class:`~.data.TopicalChatDataError`. Another
  project's ParlAI build script pins ``TRAIN_SHA256_REPORTED`` below for this URL, and the same
  script's four valid/test checksums equal ours; since it could not be verified here, a different
  checksum only logs a warning and does not fail the build.
"""

import os

from parlai.utils import logging

from parlai_prosocial.download import build_once, fetch, sha256_of
from parlai_prosocial.data_files import data_dir_env, local_dir_or_build

from .data import ALL_FILES, TopicalChatDataError, read_conversations, split_paths

DATA_DIR_ENV = data_dir_env('topical_chat')

VERSION = 'v1.0'

URL = 'https://raw.githubusercontent.com/alexa/Topical-Chat/master/conversations/{}'

#: sha256 of the released valid/test files
SHA256 = {
    'valid_freq.json': 'd14e8bde94fa5556d4aad8fd3fb666df674e4fef8b4193c8c3c06c72822a366b',
    'valid_rare.json': 'b0f3c59584ea4ed61e368dc94feade6ba499a207a6437573b028d1f3ff918714',
    'test_freq.json': '3c65693d59e40a1fb58ead35dcfe85fbcc88ea93a4d74557df620996f72c8f08',
    'test_rare.json': '4f21a18be16e310840280678e7bb4646852573b239b69183ddf8898f40119567',
}

TRAIN_FILE = 'train.json'
TRAIN_URL = URL.format(TRAIN_FILE)

#: (conversations, turns) of train.json, from the release README ("Data Statistics")
TRAIN_COUNTS = (8628, 188378)

#: sha256 of train.json as another project pins it; unverified here, so only compared with a warning
TRAIN_SHA256_REPORTED = '39a079d8464ea5f44f0fd78dbc85fd4eed96303347cbf4f9301f823e3c0f437f'


def verify_train(path):
    """
    Raise :class:`TopicalChatDataError` unless ``path`` is a complete, well-formed train.json.
    """
    conversations = read_conversations(path)
    counts = (len(conversations), sum(len(c['turns']) for c in conversations))
    if counts != TRAIN_COUNTS:
        raise TopicalChatDataError(
            f'{path}: {counts[0]} conversations and {counts[1]} turns, but the release has '
            f'{TRAIN_COUNTS[0]} and {TRAIN_COUNTS[1]}; the download is incomplete or the upstream '
            'file changed. Give checked files with --topical-chat-data-dir.'
        )
    sha256 = sha256_of(path)
    if sha256 != TRAIN_SHA256_REPORTED:
        logging.warning(
            f'{path}: sha256 {sha256} differs from the unverified {TRAIN_SHA256_REPORTED}; '
            'the file parses and has the released counts, so it is used.'
        )


def build(opt):
    """
    Download and verify the five files into ``<datapath>/topical_chat`` unless already done.
    """
    dpath = os.path.join(opt['datapath'], 'topical_chat')
    return build_once(dpath, VERSION, _download_and_verify)


def _download_and_verify(dpath):
    logging.info(f'building data: {dpath}')
    for name, sha256 in SHA256.items():
        fetch(URL.format(name), os.path.join(dpath, name), sha256=sha256)
    fetch(TRAIN_URL, os.path.join(dpath, TRAIN_FILE))
    verify_train(os.path.join(dpath, TRAIN_FILE))
    for name in ALL_FILES:
        if name != TRAIN_FILE:
            read_conversations(os.path.join(dpath, name))


def data_dir(opt):
    """
    The directory holding the conversation files, downloading them first when needed.
    """
    return local_dir_or_build(opt, 'topical_chat_data_dir', build)


def datafiles(opt):
    """
    The files of the split of ``opt['datatype']``, as a tuple of paths.
    """
    return split_paths(
        data_dir(opt),
        opt['datatype'].split(':')[0],
        opt.get('topical_chat_eval_set') or 'both',
    )
