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
"""

import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))

#: the tasks with a sample: ``<task>/`` here, read through ``--<task>-data-dir``
TASKS = ('prosocial', 'soda', 'topical_chat', 'toxichat', 'social_chem', 'mic', 'norm_bank')

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

#: left in every casual folder written here, so that we overwrite our own stand-ins but no real data
CASUAL_MARKER = '.casual_fixture'


def _copy_tree(source, directory):
    # plain copies, not copy2/copytree: the files get the time of writing (readers cache by
    # mtime) and writable modes, whatever the modes of an installed package are
    for root, _dirs, files in os.walk(source):
        target = os.path.join(directory, os.path.relpath(root, source))
        os.makedirs(target, exist_ok=True)
        for name in files:
            shutil.copyfile(os.path.join(root, name), os.path.join(target, name))


def sample_dir(name):
    """
    The packaged folder of sample ``name`` (one of :data:`SAMPLES`).
    """
    if name not in SAMPLES:
        raise ValueError(f'no sample {name!r}; the samples are {", ".join(SAMPLES)}')
    return os.path.join(HERE, name)


def write_sample(name, directory):
    """
    Copy the files of sample ``name`` (one of :data:`SAMPLES`) into ``directory``; return it.
    """
    directory = str(directory)
    _copy_tree(sample_dir(name), directory)
    return directory


def prosocial_rows():
    """
    Every row of the ProsocialDialog sample (train, valid, test), as its HF files hold them.
    """
    for split in ('train', 'valid', 'test'):
        with open(os.path.join(HERE, 'prosocial', f'{split}.json'), encoding='utf-8') as f:
            yield from map(json.loads, f)


def write_casual(datapath, tasks=tuple(CASUAL)):
    """
    Copy the stand-ins of ``tasks`` (keys of :data:`CASUAL`) under ``datapath``, each folder marked
    built; return task -> its folder. A folder already built with other data (a real download)
    is never overwritten: ``FileExistsError``.
    """
    from parlai.core import build_data

    unknown = [task for task in tasks if task not in CASUAL]
    if unknown:
        raise ValueError(f'no casual stand-in for {unknown}; there are: {", ".join(CASUAL)}')
    written = {}
    for task in tasks:
        folder, version = CASUAL[task]
        dpath = os.path.join(str(datapath), folder)
        if build_data.built(dpath) and not os.path.isfile(os.path.join(dpath, CASUAL_MARKER)):
            raise FileExistsError(
                f'{dpath} already holds a built {task} dataset that is not our stand-in; '
                'refusing to overwrite it. Use another --datapath.'
            )
        _copy_tree(os.path.join(HERE, 'casual', folder), dpath)
        with open(os.path.join(dpath, CASUAL_MARKER), 'w', encoding='utf-8') as f:
            f.write('tiny hand-written stand-in (parlai_prosocial.samples)\n')
        build_data.mark_done(dpath, version_string=version)
        written[task] = dpath
    return written
