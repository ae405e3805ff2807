"""
The offline samples: small hand-written data files in each dataset's upstream format, and the
writer that copies them where the teachers read them.

``<task>/`` beside this file is the sample of one task of this plugin, file for file as the
upstream ships it (names, format, schema, quoting, line ends), so a reader cannot tell it from the
release and a user can open it:

* ``prosocial``: ProsocialDialog as on the HF hub, ``{train,valid,test}.json`` in JSON Lines;
  ``prosocial_dialog``: the same dialogues as the direct download unpacks them (what ParlAI's
  ``prosocial_dialog`` build fetches), a JSON list of dialogues per split;
* ``soda``: ``{train,valid,test}.parquet`` in the released schema (``tasks/soda/data.py``:
  ``SCHEMA``), two rows per row group; committed as parquet, the format the release ships, so that
  copying is all the writer does (open it with ``pandas.read_parquet`` or pyarrow);
* ``topical_chat``: the five conversation files, a JSON object keyed by conversation id;
* ``toxichat``: ``{train,dev,test}.jsonl`` and ``word_based_bias_list.csv`` (CRLF, as released);
* ``social_chem``: ``social-chem-101.v1.0.tsv``; ``mic``: ``MIC.csv``; ``norm_bank``: the six
  ``{split}.{moral_acceptability,moral_agreement}.tsv`` files.

``casual/<folder>/`` are tiny stand-ins of ParlAI's casual datasets (DailyDialog, ConvAI2, Wizard
of Wikipedia, EmpatheticDialogues, BlendedSkillTalk): exactly the files ParlAI 1.7.2's teacher of
each task reads from ``<datapath>/<folder>`` (BlendedSkillTalk's ``.txt`` files are its
``build.py``'s own conversion of the ``.json`` ones). :func:`write_casual` copies them into a
datapath and marks each folder built with that ``build.py``'s version, so ParlAI never downloads.

The texts are invented (SODA's first training row is the paper's Table 1 example): demo and test
data, not the datasets.

Writing never loses a user's file (:class:`FolderWrite`, also what ``offline_data`` writes with):
every folder written holds :data:`WRITTEN_LIST`, the files written there with the sha256 of what
was written; a file already in the way is left as it is when it holds what would be written, and
replaced only when that list says it was written there and it has not changed since. Any other
file in the way (the user's own data, a real download: its ParlAI ``.built``) stops the writing
before anything is written, with one line naming it, unless ``overwrite`` is given. So is a folder
argument that is empty (an unset variable), a file, under a file, a dangling symbolic link, or a
place that cannot be written.
"""

import hashlib
import json
import os
import shutil

from parlai_prosocial import our_names

from parlai_prosocial.errors import ProsocialOptionError
from parlai_prosocial.output_folder import checked_output_folder

HERE = os.path.dirname(os.path.abspath(__file__))

#: the tasks of ours (``our_names.TASKS``) with a sample: ``<task>/`` here, read through
#: ``--<task>-data-dir`` (not casual_safety, which reads ParlAI's tasks)
TASKS = tuple(task for task in our_names.TASKS if os.path.isdir(os.path.join(HERE, task)))

#: every sample :func:`write_sample` writes
SAMPLES = TASKS + ('prosocial_dialog',)

#: ParlAI's built-in casual task -> (its folder under the datapath, its build.py's version string)
CASUAL = {
    'dailydialog': ('dailydialog', 'None'),
    'convai2': ('ConvAI2', 'v5.0'),
    'wizard_of_wikipedia': ('wizard_of_wikipedia', '1.0'),
    'empathetic_dialogues': ('empatheticdialogues', '1.0'),
    'blended_skill_talk': ('blended_skill_talk', 'v1.5'),
}

#: in every folder written here: file name -> sha256 of what was written (see the docstring)
WRITTEN_LIST = '.parlai_prosocial_written.json'


class DestinationError(ProsocialOptionError):
    """
    A folder to write into that cannot be one: empty, a file, under a file, a dangling symbolic
    link, not writable.
    """


class WouldOverwriteError(ProsocialOptionError, FileExistsError):
    """
    Files in the way of a write that were not written there by it (or changed since): nothing was
    written.
    """


def check_destination(directory, what='the folder'):
    """
    ``directory`` made absolute, or :class:`DestinationError` saying why nothing can be written
    there (``what`` names the argument in the message). The folder may not exist yet.
    """
    return checked_output_folder(directory, what, DestinationError)


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def _written_list(folder):
    try:
        with open(os.path.join(folder, WRITTEN_LIST), encoding='utf-8') as f:
            written = json.load(f)
    except (OSError, ValueError):
        return {}
    return written if isinstance(written, dict) else {}


class FolderWrite:
    """
    The files one command writes into one or more folders, checked all together before any is
    written (see the module docstring): :meth:`copy_tree` and :meth:`add` say what goes where,
    :meth:`write` checks, then writes.
    """

    def __init__(self, overwrite=False):
        self.overwrite = overwrite
        self._files = {}  # target path -> (source file or None, how to write it)

    def add(self, target, source=None, write=None):
        """
        Write ``target``: a copy of the file ``source``, or by ``write(target)`` (content that
        is made when written, e.g. ParlAI's ``.built`` with its date).
        """
        self._files[os.path.abspath(target)] = (source, write)

    def copy_tree(self, source, directory):
        """
        Every file under the folder ``source``, at the same place under ``directory``.
        """
        for root, _dirs, files in os.walk(source):
            target = os.path.join(directory, os.path.relpath(root, source))
            for name in files:
                self.add(os.path.join(target, name), source=os.path.join(root, name))

    def _in_the_way(self, target, source):
        """
        Why ``target`` may not be written (None: it may): something that is not a file of
        ours is there.
        """
        if os.path.isdir(target) and not os.path.islink(target):
            return 'a folder'
        if not os.path.lexists(target) or self.overwrite:
            return None
        if os.path.islink(target):
            return 'a symbolic link'
        if source is not None and _sha256(target) == _sha256(source):
            return None  # already what would be written: nothing is lost
        folder, name = os.path.split(target)
        if _written_list(folder).get(name) == _sha256(target):
            return None  # written here before, unchanged since
        return 'not written there by parlai_prosocial, or changed since'

    def check(self):
        """
        :class:`WouldOverwriteError` (nothing written) if a file is in the way; a folder in the way
        of a file stops even with ``overwrite``.
        """
        blocked = []
        for target, (source, _) in sorted(self._files.items()):
            folder = os.path.dirname(target)
            parent = folder
            while parent and not os.path.lexists(parent):
                parent = os.path.dirname(parent)
            if not os.path.isdir(parent):
                raise DestinationError(f'{target}: cannot be written, {parent} is a file')
            why = self._in_the_way(target, source)
            if why:
                blocked.append((target, why))
        if not blocked:
            return
        target, why = blocked[0]
        more = ''
        if len(blocked) > 1:
            more = f', and {len(blocked) - 1} more file{"s" if len(blocked) > 2 else ""}'
        if why == 'a folder':
            raise WouldOverwriteError(
                f'{target}: a folder is where a file would be written{more}; nothing was '
                'written: give another folder'
            )
        raise WouldOverwriteError(
            f'{target} already exists ({why}){more}; nothing was written, to keep your files: '
            'give another folder, or add --overwrite to replace them'
        )

    def write(self):
        """
        :meth:`check`, then write every file (each folder's :data:`WRITTEN_LIST` updated).
        """
        self.check()
        folders = sorted({os.path.dirname(target) for target in self._files})
        for folder in folders:  # every folder first: a place that refuses them stops it early
            try:
                os.makedirs(folder, exist_ok=True)
            except OSError as e:
                raise DestinationError(f'{folder}: cannot be made ({e.strerror})') from None
        by_folder = {}
        for target, (source, write) in self._files.items():
            folder = os.path.dirname(target)
            try:
                if os.path.islink(target):
                    os.remove(target)  # replaced (with --overwrite), never written through
                if source is not None:
                    # a plain copy, not copy2: the file gets the time of writing (readers cache
                    # by mtime) and a writable mode, whatever the modes of an installed package
                    shutil.copyfile(source, target)
                else:
                    write(target)
            except OSError as e:
                raise DestinationError(f'{target}: cannot be written ({e.strerror})') from None
            by_folder.setdefault(folder, {})[os.path.basename(target)] = _sha256(target)
        for folder, hashes in by_folder.items():
            written = dict(_written_list(folder), **hashes)
            with open(os.path.join(folder, WRITTEN_LIST), 'w', encoding='utf-8') as f:
                json.dump(written, f, indent=1, sort_keys=True)
                f.write('\n')


def sample_dir(name):
    """
    The packaged folder of sample ``name`` (one of :data:`SAMPLES`).
    """
    if name not in SAMPLES:
        raise ValueError(f'no sample {name!r}; the samples are {", ".join(SAMPLES)}')
    return os.path.join(HERE, name)


def add_sample(write, name, directory):
    """
    The files of sample ``name`` (one of :data:`SAMPLES`) into ``directory``, added to ``write``
    (a :class:`FolderWrite`); returns ``directory``.
    """
    write.copy_tree(sample_dir(name), directory)
    return directory


def write_sample(name, directory, overwrite=False):
    """
    Copy the files of sample ``name`` (one of :data:`SAMPLES`) into ``directory``; return it.
    Files of the user's in the way stop it (see the module docstring) unless ``overwrite``.
    """
    directory = check_destination(directory)
    write = FolderWrite(overwrite)
    add_sample(write, name, directory)
    write.write()
    return directory


def prosocial_rows():
    """
    Every row of the ProsocialDialog sample (train, valid, test), as its HF files hold them.
    """
    for split in ('train', 'valid', 'test'):
        with open(os.path.join(HERE, 'prosocial', f'{split}.json'), encoding='utf-8') as f:
            yield from map(json.loads, f)


def add_casual(write, datapath, tasks=tuple(CASUAL)):
    """
    The stand-ins of ``tasks`` (keys of :data:`CASUAL`) under ``datapath``, each folder marked
    built with ParlAI's ``.built``, added to ``write`` (a :class:`FolderWrite`); returns task ->
    its folder. A real download in the way (its ``.built`` not written by us) stops the write.
    """
    from parlai.core import build_data

    unknown = [task for task in tasks if task not in CASUAL]
    if unknown:
        raise ValueError(f'no casual stand-in for {unknown}; there are: {", ".join(CASUAL)}')
    folders = {}
    for task in tasks:
        folder, version = CASUAL[task]
        dpath = os.path.join(str(datapath), folder)
        write.copy_tree(os.path.join(HERE, 'casual', folder), dpath)
        write.add(
            os.path.join(dpath, '.built'),
            write=lambda target, version=version: build_data.mark_done(
                os.path.dirname(target), version_string=version
            ),
        )
        folders[task] = dpath
    return folders


def write_casual(datapath, tasks=tuple(CASUAL), overwrite=False):
    """
    Copy the stand-ins of ``tasks`` (keys of :data:`CASUAL`) under ``datapath``, each folder
    marked built; return task -> its folder. A folder already built with other data (a real
    download) is never overwritten (:class:`WouldOverwriteError`, a ``FileExistsError``) unless
    ``overwrite``.
    """
    write = FolderWrite(overwrite)
    folders = add_casual(write, check_destination(datapath, 'the datapath'), tasks)
    write.write()
    return folders
