"""
ParlAI's errors on a run of ours, as our one line: the one translator.

Where ParlAI's own code fails on a path that one of our names leads to (a task, agent or preset of
ours, a model file of ours: :func:`parlai_prosocial.our_names.is_our_run`), :func:`translated`
gives the :class:`~parlai_prosocial.errors.ProsocialError` that says it in one line, naming the
file or option and what to do. With no name of ours, ParlAI's error is left as it is. It is applied
at one layer, ParlAI's script layer (the fix ``one_line_errors_of_our_runs``: parsing a command
line, and running a script), which every ``parlai`` command, ``Script.main(...)`` call and our
in-process test helper goes through.
"""

import os

from parlai_prosocial.errors import ModelFileError, ProsocialError, ProsocialOptionError
from parlai_prosocial.our_names import ZOO, is_our_run, names_ours


def translated(error, opt):
    """
    The one line (a ``ProsocialError``) for ``error``, raised by ParlAI while a run with the
    options ``opt`` (those known so far, at parse) parsed or ran; None when ``error`` is ours
    already, when the run names nothing of ours, or when there is nothing to add to ParlAI's.
    """
    if isinstance(error, ProsocialError) or not is_our_run(opt):
        return None
    for translate in (_training_preset_elsewhere, _cut_option_file, _missing_model_file,
                      _base_model_not_downloaded, _hub_model_not_loaded):
        line = translate(error, opt)
        if line is not None:
            return line
    return None


def _training_preset_elsewhere(error, opt):
    """
    A training preset of ours given to ``display_data``, ``eval_model``, ...: ParlAI's
    "Trying to set opt from file that does not exist" names the first option the command lacks.
    """
    _, found, key = str(error).partition('Trying to set opt from file that does not exist: ')
    if not (isinstance(error, RuntimeError) and found and names_ours(init_opt=opt.get('init_opt'))):
        return None
    return ProsocialOptionError(
        f'-o {opt["init_opt"]}: this command has no option --{key.replace("_", "-")}, which the '
        'preset sets; it is a preset for parlai train_model (or multiprocessing_train, '
        'distributed_train)'
    )


def _cut_option_file(error, opt):
    """
    A model file's ``.opt`` that is not valid JSON (cut short): the one line of
    :func:`parlai_prosocial.model_files.saved_options` naming it.
    """
    import json

    if not isinstance(error, json.JSONDecodeError):
        return None
    from parlai_prosocial.model_files import saved_options

    for key in ('model_file', 'init_model'):
        path = str(opt.get(key) or '')
        if path and not path.startswith('zoo:'):
            try:
                saved_options(path + '.opt', missing_ok=True)
            except ModelFileError as line:
                return line
    return None


def _missing_model_file(error, opt):
    """
    ``-mf MODEL`` that does not exist, in a command that must load it (``eval_model``,
    ``interactive``, ...): ParlAI's ``create_agent`` raised "WARNING: Model file does not exist".
    """
    if not (isinstance(error, RuntimeError)
            and str(error).startswith('WARNING: Model file does not exist')):
        return None
    return ModelFileError(
        f'--model-file {opt.get("model_file")}: no such model file; give the model file a '
        'training run wrote (its -mf), or install one as zoo:prost/model or zoo:canary/model '
        '(python -m parlai_prosocial.zoo.prost.install / zoo.canary.install)'
    )


def _raised_in(error, *places):
    import traceback

    return any(
        any(place in frame.filename for place in places)
        for frame in traceback.extract_tb(error.__traceback__)
    )


def _base_model_not_downloaded(error, opt):
    """
    A ParlAI zoo model that the options name (``--init-model``, ``--dict-file``: ``-o
    prosocial/prost`` starts from ``zoo:blender/reddit_3B``) and that ParlAI failed to download
    (offline, most likely): at parse (ParlAI downloads the zoo files of ``--dict-file`` and
    ``--model-file`` while it parses), or while the agent is built.
    """
    if not isinstance(error, (RuntimeError, OSError)) or not _raised_in(
        error, os.path.join('parlai', 'core', 'build_data.py'), os.path.join('parlai', 'zoo', '')
    ):
        return None
    datapath = opt.get('datapath') or ''
    ours = tuple(f'zoo:{name}' for name in ZOO)
    for key in ('init_model', 'dict_file', 'model_file'):
        value = str(opt.get(key) or '')
        if not value.startswith('zoo:') or value.startswith(ours):
            continue  # (our own zoo entries say what is missing themselves)
        folder = os.path.join(datapath, 'models', os.path.dirname(value[len('zoo:'):]))
        if os.path.isfile(os.path.join(folder, '.built')):
            continue
        from parlai_prosocial.errors import ProsocialDownloadError

        reason = ' '.join(str(error).split())[:200]
        return ProsocialDownloadError(
            f'--{key.replace("_", "-")} {value}: this base model is not downloaded, and '
            f'downloading it failed ({type(error).__name__}: {reason}); run once with the '
            f'network (ParlAI puts it in {folder}), or give --init-model and --dict-file a '
            'local copy of the model file and its dictionary'
        )
    return None


def _hub_model_not_loaded(error, opt):
    """
    A GPT-2 family model that Hugging Face cannot load from the hub (``-o prosocial/table2_gpt2``,
    ``table2_dialogpt_rots``): offline and not in HF's cache, or no such model. (T5 agents of
    ours say it themselves: ``t5_loaded``.)
    """
    if (not isinstance(error, OSError) or 'model_name' not in opt
            or not _raised_in(error, os.path.join('transformers', ''))):
        return None
    given = opt.get('model_name') or f'unset: the hub model of --gpt2-size {opt.get("gpt2_size")}'
    reason = ' '.join(str(error).split())[:200]
    return ModelFileError(
        f'-m {opt.get("model")} (--model-name {given}): cannot load it from Hugging Face '
        f'({reason}); without the network, save the model and its tokenizer once where there is '
        'one (save_pretrained) and give that directory to --model-name'
    )
