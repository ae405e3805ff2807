"""
Model files for tests: an untrained agent saved as ParlAI saves one (:func:`save_untrained`), and
a copy of a model file with its options edited (:func:`copy_model_file`, :func:`edit_options`),
for the tests of what a run makes of a model file (its options, dictionary and weights), which
need no training.
"""

import json
import os

#: an option given this value in :func:`edit_options` is removed from the ``.opt`` (None is
#: JSON's null, which ParlAI reads as a value of its own)
REMOVED = object()


def save_untrained(directory, **options):
    """
    The model file ``DIRECTORY/model`` of an untrained agent built with ``options`` (as keyword
    arguments of ``ParlaiParser.parse_kwargs``: ``model='prost'``, ``n_layers=1``, ...), saved as
    ParlAI saves one, its dictionary ``model.dict`` beside it; ParlAI's data path in
    ``DIRECTORY/data`` unless ``options`` name one.
    """
    from parlai.core.agents import create_agent
    from parlai.core.params import ParlaiParser

    directory = str(directory)
    model_file = os.path.join(directory, 'model')
    os.makedirs(directory, exist_ok=True)
    settings = dict(model_file=model_file, dict_file=model_file + '.dict', no_cuda=True,
                    datapath=os.path.join(directory, 'data'))
    settings.update(options)
    create_agent(ParlaiParser(True, True).parse_kwargs(**settings)).save(model_file)
    return model_file


def edit_options(model_file, **changes):
    """
    ``changes`` made in the options file ``MODEL_FILE.opt`` (a value :data:`REMOVED`: that option
    removed), written back as ParlAI writes one.
    """
    from parlai_prosocial.model_files import saved_options

    saved = dict(saved_options(model_file + '.opt'))
    saved.update(changes)
    with open(model_file + '.opt', 'w', encoding='utf-8') as f:
        json.dump({k: v for k, v in saved.items() if v is not REMOVED}, f, indent=4)
        f.write('\n')


def copy_model_file(model_file, directory, name='model', **changes):
    """
    A copy of ``model_file`` and its files (``.opt``, ``.dict``, ``.dict.opt``, ``.trainstats``,
    ...: its name and a suffix) in ``directory`` (made if missing) as ``name``; its ``.opt`` and
    ``.dict.opt`` name the copied dictionary, and its ``.opt`` has ``changes``
    (:func:`edit_options`). Returns the copy's model file.
    """
    import shutil

    source, base = os.path.split(model_file)
    os.makedirs(directory, exist_ok=True)
    copy = os.path.join(str(directory), name)
    for file in os.listdir(source or '.'):
        if (file == base or file.startswith(base + '.')) and os.path.isfile(
                os.path.join(source, file)):
            shutil.copyfile(os.path.join(source, file), copy + file[len(base):])
    for options in (copy, copy + '.dict'):
        if os.path.isfile(options + '.opt'):
            edit_options(options, dict_file=copy + '.dict')
    if changes:
        edit_options(copy, **changes)
    return copy
