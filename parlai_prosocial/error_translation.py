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
                      _casual_corpus_not_downloaded, _base_model_not_downloaded,
                      _hub_model_not_loaded, _model_file_not_loaded, _unreadable_training_stats):
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
    A model file's ``.opt`` that is not valid JSON (cut short, empty, a pickle in text form) or
    not a JSON object (ParlAI's ``Opt`` of a list: a ``TypeError``): the one line of
    :func:`parlai_prosocial.model_files.saved_options` naming it.
    """
    import json

    if not (isinstance(error, json.JSONDecodeError)
            or _raised_in(error, os.path.join('parlai', 'core', 'opt.py'))):
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


# --- a model file that ParlAI's own agent fails to load -----------------------------------------


def _frames(error):
    """
    The frames of ``error``'s traceback, outermost first.
    """
    frames, tb = [], error.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    return frames


def _loaded_model_file(error):
    """
    ``(model file, the options ParlAI read from its .opt or None)`` of the model that was being
    loaded when ``error`` was raised: ParlAI's ``create_agent_from_opt_file`` (``-mf``, a
    classifier our task loads), else a ``TorchAgent.load(path)`` (``--init-model``); None if none.
    """
    frames = list(reversed(_frames(error)))
    for frame in frames:
        local = frame.f_locals
        if (frame.f_code.co_name == 'create_agent_from_opt_file'
                and isinstance(local.get('model_file'), str)):
            return local['model_file'], local.get('opt_from_file')
    for frame in frames:
        local = frame.f_locals
        if (frame.f_code.co_name == 'load' and isinstance(local.get('path'), str)
                and 'self' in local):
            return local['path'], None
    return None


def _option_of(opt, path):
    """
    The option that gave the model file ``path`` (``--model-file``, ``--init-model``,
    ``--toxichat-stance-model-file``, ...).
    """
    for key, value in (opt or {}).items():
        if value == path and (key == 'init_model' or key.endswith('model_file')):
            return '--' + key.replace('_', '-')
    return '--model-file'


def _mistyped_options(saved):
    """
    ``["n_layers": 'one' (expected a whole number), ...]``: saved options whose values are not
    of the type (or among the choices) of the option the saved agent defines.
    """
    from parlai.core.opt import Opt
    from parlai.core.params import ParlaiParser

    parser = ParlaiParser(True, True)
    try:
        parser.add_model_subargs(saved['model'], Opt(saved))
    except Exception:  # noqa: BLE001 - an agent that cannot say: nothing to compare with
        return []
    kinds = {int: (int, 'a whole number'), float: ((int, float), 'a number')}
    mistyped = []
    for action in parser._actions:
        value = saved.get(action.dest)
        if value is None or action.nargs not in (None, '?'):
            continue
        convert = parser._registry_get('type', action.type, action.type)
        expected, kind = kinds.get(convert, (None, None))
        if getattr(convert, '__name__', '') == 'str2bool':
            expected, kind = bool, 'true or false'
        wrong = expected is not None and (isinstance(value, bool) != (expected is bool)
                                          or not isinstance(value, expected))
        if not wrong and action.choices and value not in action.choices:
            wrong, kind = True, 'one of ' + ', '.join(map(str, action.choices))
        if wrong:
            mistyped.append(f'"{action.dest}": {value!r} (expected {kind})')
    return mistyped


def _model_file_not_loaded(error, opt):
    """
    A model file (its ``.opt``: a run of ours) that ParlAI's own agent fails to load
    (``parlai eval_model/display_model/interactive -mf`` of a ``tiny_generator`` or
    ``tiny_classifier`` model, a ToxiChat classifier): its ``.opt`` without an agent or naming
    an unknown one, or with values of the wrong type; its ``.dict`` missing, empty, cut or not a
    dictionary; weights that do not fit the model its ``.opt`` and ``.dict`` describe (ParlAI's
    size-mismatch traceback, which advises ``--fp16 true``).
    """
    from parlai_prosocial.model_files import dictionary_problem, saved_options

    loaded = _loaded_model_file(error)
    if loaded is None and _raised_in(error, os.path.join('parlai', 'core', 'loader.py')):
        # at parse: ParlAI loads the agent that the model file's .opt names, to add its options
        given = [opt.get(key) for key in ('model_file', 'init_model')]
        loaded = next(((path, None) for path in given if path and os.path.isfile(path)), None)
    if loaded is None:
        return None
    path, opt_from_file = loaded
    option = f'{_option_of(opt, path)} {path}'
    try:
        saved = saved_options(path + '.opt', missing_ok=True)
    except ModelFileError as line:  # cut, empty, not an object, a pickle refused
        return line
    if saved is None:
        return None
    if isinstance(error, KeyError) and error.args == ('model',):
        return ModelFileError(
            f'{option}: its options {path}.opt name no agent (no "model"); copy the .opt '
            'again, or give the agent it was trained with (-m)'
        )
    if isinstance(error, (ImportError, AttributeError)) and _raised_in(
            error, os.path.join('parlai', 'core', 'loader.py')):
        return ModelFileError(
            f'{option}: its options {path}.opt name the agent "{saved.get("model")}", which '
            'neither ParlAI nor parlai-prosocial has; copy the .opt again, or give the agent it '
            'was trained with (-m)'
        )
    dict_file = (opt_from_file or {}).get('dict_file') or path + '.dict'
    problem = dictionary_problem(dict_file)
    state_dict_error = isinstance(error, RuntimeError) and 'loading state_dict' in str(error)
    if problem is not None and (state_dict_error or _raised_in(
            error, os.path.join('parlai', 'core', 'dict.py'))):
        return ModelFileError(
            f'{option}: its dictionary {dict_file} {problem}; copy the model file with its '
            '.opt and .dict (ParlAI saves them together)'
        )
    if isinstance(error, (TypeError, ValueError)) and saved.get('model'):
        mistyped = _mistyped_options(saved)
        if mistyped:
            return ModelFileError(
                f'{option}: its options {path}.opt hold values of the wrong type: '
                f'{"; ".join(mistyped[:3])}; copy the .opt again, or give those options on the '
                'command line'
            )
    if state_dict_error:
        import json
        import re

        mismatch = re.search(r'size mismatch for ([\w.]+): copying a param with shape '
                             r'torch.Size\((\[[\d, ]*\])\) from checkpoint, the shape in '
                             r'current model is torch.Size\((\[[\d, ]*\])\)', str(error))
        if mismatch and mismatch.group(1).endswith('embeddings.weight'):
            in_file, built = (json.loads(mismatch.group(i)) for i in (2, 3))
            if in_file[1:] == built[1:] and in_file[0] == -(-built[0] // 8) * 8 != built[0]:
                return ModelFileError(  # ParlAI's own advice, where it fits
                    f'{option}: its weights have {in_file[0]} token embeddings, its dictionary '
                    f'{dict_file} makes {built[0]}: trained with --fp16 true, which rounds them '
                    'up to a multiple of 8? Then add --fp16 true (or --force-fp16-tokens true); '
                    'else the .dict is another model\'s'
                )
            if in_file[0] != built[0] and in_file[1:] == built[1:]:
                return ModelFileError(
                    f'{option}: its dictionary {dict_file} makes {built[0]} token embeddings, '
                    f'its weights have {in_file[0]}: the .dict is cut or another model\'s; copy '
                    'the model file with its own .opt and .dict'
                )
        first = ' '.join(str(error).split('\n')[1:2]).strip()
        detail = (f'{mismatch.group(1)}: {mismatch.group(2)} in the file, {mismatch.group(3)} in '
                  'the model built from its options' if mismatch else first[:200])
        return ModelFileError(
            f'{option}: its weights do not fit the model its options and dictionary describe '
            f'({detail}); the .opt or .dict beside it, or the weights, are another model\'s: '
            'copy the model file with its own .opt and .dict'
        )
    return None


# --- resuming a training whose statistics cannot be read ----------------------------------------


def _unreadable_training_stats(error, opt):
    """
    ``train_model -mf M`` resuming (``M.trainstats`` there, or ``M.checkpoint.trainstats``):
    statistics that are cut, pickled or not a JSON object fail in ParlAI's ``TrainLoop`` (also in
    a worker of ``multiprocessing_train``).
    """
    import json

    model_file = opt.get('model_file')
    if not model_file or not (
            _raised_in(error, os.path.join('parlai', 'scripts', 'train_model.py'))
            or type(error).__name__ == 'ProcessRaisedException'):
        return None
    stats = model_file + '.trainstats'
    if opt.get('load_from_checkpoint') and os.path.isfile(model_file + '.checkpoint'):
        stats = model_file + '.checkpoint.trainstats'
    if not os.path.isfile(stats):
        return None
    with open(stats, 'rb') as f:
        data = f.read()
    try:
        read = json.loads(data.decode('utf-8'))
        reason = None if isinstance(read, dict) else f'a JSON {type(read).__name__}'
    except UnicodeDecodeError:
        reason = 'not text: a pickle?'
    except ValueError as e:
        reason = f'not valid JSON: {e}; is it cut short?'
    if reason is None:
        return None
    return ModelFileError(
        f'{stats}: the training statistics of {model_file}, read to resume its training, cannot '
        f'be read ({reason}); delete it to resume from the saved model with the counts (epochs, '
        'steps, validations, best score) started anew, or put a good copy back'
    )


# --- a ParlAI corpus of our mixtures that could not be downloaded -------------------------------


def _casual_corpus_not_downloaded(error, opt):
    """
    A ParlAI task that our mixture reads (``-o prosocial/tiny_prost``'s DailyDialog, a
    ``casual_safety:TASK``) whose download failed in its ``build.py`` although its server could be
    reached when the world was built (or a ``casual_safety:`` corpus we have no stand-in for):
    :func:`parlai_prosocial.casual_corpora.unavailable`.
    """
    from parlai_prosocial.casual_corpora import not_built, read_by, unavailable

    if not isinstance(error, (RuntimeError, OSError)):
        return None
    for frame in reversed(_frames(error)):
        parts = frame.f_code.co_filename.split(os.sep)
        if parts[-1:] == ['build.py'] and parts[-4:-2] == ['parlai', 'tasks']:
            task, folder = parts[-2], frame.f_locals.get('dpath')
            break
    else:
        return None
    if task not in read_by(opt.get('task')):
        return None
    missing = not_built(opt)
    if task not in [name for name, _ in missing]:
        missing.append((task, folder or os.path.join(opt.get('datapath') or '', task)))
    reason = ' '.join(str(error).split())[:200]
    return unavailable(opt, missing, f'{type(error).__name__}: {reason}')
