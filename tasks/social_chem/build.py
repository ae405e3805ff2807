"""
Where Social Chemistry 101 comes from.

With ``--social-chem-data-dir DIR`` (or ``$SOCIAL_CHEM_DATA_DIR``) the release file
``social-chem-101.v1.0.tsv`` is read from DIR: the offline path, and the way to use a copy you
checked yourself.

Otherwise the release archive named in the official README (mbforbes/social-chemistry-101),
:data:`URL` (CC BY-SA 4.0), is downloaded into ``<datapath>/social_chem`` and unpacked, and the
``.built`` marker is written only after the file passed the check below; an interrupted or failed
build leaves no marker, so the next run starts again from an empty directory.

**The checksum is not pinned yet.** No copy of the archive was available when this was written,
and a checksum is never invented, so the download is verified by its structure instead: the TSV
must be in the archive, parse completely with the reader the teacher uses (header, every record,
every checked field) and hold norms in each of the three splits. Pin :data:`SHA256` (and make the
archive a ``DownloadableFile``) once it is computed from the release.
"""

import os
import shutil

from parlai.utils import logging

from parlai_prosocial.download import build_once, fetch
from parlai_prosocial.data_files import data_dir_env, local_dir_or_build

from .data import FILE, SocialChemDataError, read_norms

DATA_DIR_ENV = data_dir_env('social_chem')

VERSION = 'v1.0'

URL = (
    'https://storage.googleapis.com/ai2-mosaic-public/projects/social-chemistry/data/'
    'social-chem-101.zip'
)
ARCHIVE = 'social-chem-101.zip'

#: not yet known (see the module docstring); the build checks the structure instead
SHA256 = None


def verify(path):
    """
    Raise :class:`SocialChemDataError` unless ``path`` is a complete, well-formed release file.
    """
    by_split = read_norms(path)
    empty = [split for split, norms in by_split.items() if not norms]
    if empty:
        raise SocialChemDataError(
            f'{path}: no norms in split {", ".join(empty)}; the download is incomplete or the '
            'upstream file changed. Give a checked copy with --social-chem-data-dir.'
        )


def _extract_tsv(archive, dpath):
    """
    Unpack the release file from the zip into ``dpath`` (wherever the archive keeps it; ParlAI's
    own unzip needs the archive to list its folders), then delete the archive.
    """
    import zipfile

    try:
        with zipfile.ZipFile(archive) as z:
            members = [m for m in z.namelist() if os.path.basename(m) == FILE]
            if not members:
                raise SocialChemDataError(f'{URL}: the archive has no {FILE}')
            with z.open(members[0]) as source, open(os.path.join(dpath, FILE), 'wb') as target:
                shutil.copyfileobj(source, target)
    except zipfile.BadZipFile as e:
        raise SocialChemDataError(f'{URL}: the download is not a zip archive ({e})') from None
    finally:
        if os.path.exists(archive):
            os.remove(archive)


def _find(directory, name):
    for root, _, files in os.walk(directory):
        if name in files:
            return os.path.join(root, name)
    return None


def build(opt):
    """
    Download, unpack and verify the release into ``<datapath>/social_chem`` unless already done;
    return the folder holding the TSV. Through the plugin's download helper: ``.part`` file,
    HTTP errors reported as such, concurrent builds serialised by a file lock, ``.built`` written
    only after the structure check passed.
    """
    return build_once(os.path.join(opt['datapath'], 'social_chem'), VERSION, _download)


def _download(dpath):
    logging.info(f'building data: {dpath}')
    logging.warning(
        f'{URL}: no sha256 is pinned for this archive yet; it is accepted only if '
        f'{FILE} inside parses completely and has all three splits'
    )
    fetch(URL, os.path.join(dpath, ARCHIVE))
    _extract_tsv(os.path.join(dpath, ARCHIVE), dpath)
    found = _find(dpath, FILE)
    if found is None:
        raise SocialChemDataError(f'{URL}: the archive has no {FILE}')
    target = os.path.join(dpath, FILE)
    if found != target:
        os.replace(found, target)
    verify(target)


def data_file(opt):
    """
    The TSV: from ``--social-chem-data-dir`` if given, else downloaded.
    """
    directory = local_dir_or_build(opt, 'social_chem_data_dir', build)
    return os.path.join(directory, FILE)
