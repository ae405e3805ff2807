"""
ParlAI's script layer for a run of ours (our runs only): its options (checked,
``--global-batchsize`` added), its known noise (filtered while it runs) and its errors (one
line). A run that names nothing of ours (:func:`parlai_prosocial.our_names.is_our_run`) is parsed
and run by ParlAI's code alone: its parser and ``--help`` have no option of ours, and its errors
are ParlAI's.
"""

from parlai_prosocial.our_names import is_our_run


def _trains(parser):
    """
    Whether ``parser`` is a training script's (``train_model``, ``multiprocessing_train``,
    ``distributed_train``: ``train_model.setup_args``, whose loop has ``--num-epochs``).
    """
    return any(action.dest == 'num_epochs' for action in parser._actions)


def _options_so_far(parser, args):
    """
    The options that ``args`` give ``parser``, with those of its ``-o`` preset, as ParlAI's
    ``add_extra_args`` reads them before the full parse.
    """
    parsed = vars(parser.parse_known_args(args, nohelp=True)[0])
    if parsed.get('init_opt'):
        try:
            parser._load_known_opts(parsed['init_opt'], parsed)
        except Exception:  # (ParlAI says what is wrong with the preset when it parses)
            pass
    return parsed


def options_of_our_runs(params_module):
    """
    ``parlai.core.params``: what the options of a run of ours get from its parser.

    * Wraps ParlAI 1.7.2's ``ParlaiParser.add_extra_args`` (where ParlAI adds the options of the
      task and model a command line names): a training parser of a run of ours gets
      ``--global-batchsize`` (:mod:`parlai_prosocial.global_batch`), also in its ``--help``.
    * Wraps ``ParlaiParser.parse_args``: once a run of ours is parsed, options of ParlAI's own that
      it accepts but misuses are checked (:func:`parlai_prosocial.options.check_multitask_weights`:
      a failed check is one line), ``--t5-model-arch parlai_prosocial/tiny-t5`` (the tiny
      presets) is resolved to its directory, and the ParlAI code that our loaded classes
      override is checked
      (:func:`parlai_prosocial.parlai_internals.check_loaded_overrides`).
    """
    from parlai_prosocial.global_batch import add_global_batchsize
    from parlai_prosocial.options import check_multitask_weights, resolve_tiny_t5
    from parlai_prosocial.parlai_internals import check_loaded_overrides

    ParlaiParser = params_module.ParlaiParser
    parlai_add_extra_args = ParlaiParser.add_extra_args
    parlai_parse_args = ParlaiParser.parse_args

    def add_extra_args(self, args=None):
        parlai_add_extra_args(self, args)
        if (_trains(self) and '--global-batchsize' not in self._option_string_actions
                and is_our_run(_options_so_far(self, args))):
            add_global_batchsize(self)

    def parse_args(self, args=None, namespace=None, **kwargs):
        opt = parlai_parse_args(self, args=args, namespace=namespace, **kwargs)
        if is_our_run(opt):
            check_multitask_weights(opt)
            resolve_tiny_t5(opt)
            check_loaded_overrides()
        return opt

    add_extra_args.__doc__ = parlai_add_extra_args.__doc__
    parse_args.__doc__ = parlai_parse_args.__doc__
    ParlaiParser.add_extra_args = add_extra_args
    ParlaiParser.parse_args = parse_args


def _given_options(parser, args):
    """
    The options the command line ``args`` gives ``parser`` (of the ``parlai`` supercommand: its
    command's), as far as they are known before ParlAI adds a task's and model's; for an error
    raised before ParlAI has its own (``{}`` if even these cannot be read).
    """
    import argparse
    import sys

    args = [str(a) for a in (sys.argv[1:] if args is None else args)]
    commands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if commands:
        if not args or args[0] not in commands[0].choices:
            return {}
        parser, args = commands[0].choices[args[0]], args[1:]
    try:
        return vars(parser.parse_known_args(args, nohelp=True)[0])
    except (Exception, SystemExit):
        return {}




def one_line_errors_of_our_runs(script_module):
    """
    ``parlai.core.script``: an error that ParlAI raises while a run of ours is parsed or runs is
    the one line of :func:`parlai_prosocial.error_translation.translated` (ParlAI's error
    otherwise), at one layer, ParlAI's script layer, which every ``parlai`` command and every
    ``Script.main(...)`` goes through:

    * ``ParlaiParser.parse_args`` (with the options ParlAI has read so far, or those the command
      line gives when it failed before: a model file's cut ``.opt`` read to find its model);
    * ``ParlaiScript._run_from_parser_and_opt`` (with the run's options).
    """
    from parlai_prosocial.error_translation import translated

    ParlaiParser, ParlaiScript = script_module.ParlaiParser, script_module.ParlaiScript
    parlai_parse_args = ParlaiParser.parse_args
    parlai_run = ParlaiScript._run_from_parser_and_opt.__func__

    def parse_args(self, args=None, namespace=None, **kwargs):
        before = getattr(self, 'opt', None)
        try:
            return parlai_parse_args(self, args=args, namespace=namespace, **kwargs)
        except Exception as error:
            opt = getattr(self, 'opt', None)
            line = translated(error, opt if opt is not before else _given_options(self, args))
            if line is None:
                raise
            raise line from None

    def _run_from_parser_and_opt(cls, opt, parser):
        try:
            return parlai_run(cls, opt, parser)
        except Exception as error:
            line = translated(error, opt)
            if line is None:
                raise
            raise line from None

    parse_args.__doc__ = parlai_parse_args.__doc__
    _run_from_parser_and_opt.__doc__ = parlai_run.__doc__
    ParlaiParser.parse_args = parse_args
    ParlaiScript._run_from_parser_and_opt = classmethod(_run_from_parser_and_opt)


def global_batch(train_model_module):
    """
    ``parlai.scripts.train_model``: ``--global-batchsize G`` (:mod:`parlai_prosocial.global_batch`;
    a training parser has it only in a run of ours, ``options_of_our_runs``) gives each worker
    ``--batchsize G / N``. Wraps ParlAI 1.7.2's ``TrainLoop.__init__``, which every training
    worker builds once it knows the world size N. Without the option (every run that names nothing
    of ours) or with ``-1``, ParlAI's ``TrainLoop`` gets the options it was given.
    """
    from parlai.utils.distributed import num_workers

    from parlai_prosocial.global_batch import per_worker_batchsize

    parlai_init = train_model_module.TrainLoop.__init__

    def __init__(self, opt):
        parlai_init(self, per_worker_batchsize(opt, num_workers()))

    __init__.__doc__ = parlai_init.__doc__
    train_model_module.TrainLoop.__init__ = __init__


def run_noise_of_our_runs(script_module):
    """
    ``parlai.core.script``: while a run of ours runs (``ParlaiScript._run_from_parser_and_opt``,
    which every ``parlai`` command and ``Script.main(...)`` goes through), the noise of
    :mod:`parlai_prosocial.known_noise` is filtered; after it the process's warning and log
    filters are as they were, so a later run that names nothing of ours prints what ParlAI does.
    """
    from parlai_prosocial.known_noise import run_noise_quieted

    ParlaiScript = script_module.ParlaiScript
    parlai_run = ParlaiScript._run_from_parser_and_opt.__func__

    def _run_from_parser_and_opt(cls, opt, parser):
        if not is_our_run(opt):
            return parlai_run(cls, opt, parser)
        with run_noise_quieted():
            return parlai_run(cls, opt, parser)

    _run_from_parser_and_opt.__doc__ = parlai_run.__doc__
    ParlaiScript._run_from_parser_and_opt = classmethod(_run_from_parser_and_opt)
