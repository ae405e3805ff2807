"""
The report's command: its options, the ``eval_model`` commands it stands for, the checks made
before any work, and the passes (see the package docstring).
"""

import argparse
import importlib.util
import os
import random
import shlex
import sys
import time

from parlai.core.agents import create_agent
from parlai.core.build_data import modelzoo_path
from parlai.core.loader import load_agent_module
from parlai.core.metrics import aggregate_unnamed_reports
from parlai.core.script import ParlaiScript
from parlai.core.worlds import create_task
from parlai.scripts.eval_model import setup_args as eval_model_args
from parlai.utils import logging
from parlai.utils.misc import TimeLogger

from parlai_prosocial.agents import overriding_quietly
from parlai_prosocial.data_files import data_dir_env
from parlai_prosocial.errors import ProsocialOptionError
from parlai_prosocial.formats import (
    CLASSIFIER_INPUTS,
    OFFENSE_LABELS,
    SAFETY_LABELS,
    STANCE_LABELS,
    trained_classifier_input,
)
from parlai_prosocial.model_files import saved_options
from parlai_prosocial.seeding import EVAL_SEED, seed_everything

#: the datasets, by key: (title, task)
PROSOCIAL, TOXICHAT = 'prosocial', 'toxichat'
UNGUARDED, GUARDED = 'unguarded', 'guarded'

#: the ProsocialDialog teachers Table 3 scores on: the reply alone (Response only), or the RoTs then
#: the reply (RoT & Response, which adds rot_f1 / rot_bleu-4); ``prosocial`` is the first
RESPONSE_TASK, ROT_RESPONSE_TASK = 'prosocial:response', 'prosocial:rot_response'

#: metrics a run measures with the clock (examples or tokens per second): never equal between
#: two runs, so they are left out of the results, which hold only what a rerun repeats
TIMED_METRICS = ('exps', 'ctps', 'ltps', 'tps', 'gen_tps')

#: the first batches of each pass, left out of the times: they also pay for what is loaded or
#: compiled lazily on first use (torch's kernels, a classifier's first call)
WARMUP_BATCHES = 1

#: eval_model options that belong to the evaluation, not to the model: kept at the top level of
#: the guarded command when the model's own options move into --guarded-args
EVALUATION_OPTIONS = {
    '-bs', '--batchsize', '-ne', '--num-examples', '-dt', '--datatype', '-dp', '--datapath',
    '--loglevel', '-ltim', '--log-every-n-secs', '-mcs', '--metrics', '-micro',
    '--aggregate-micro', '-d', '--display-examples', '-ebs', '--eval-batchsize',
}

#: options whose value is a file or folder: recorded absolute, so a command reruns from any folder
PATH_OPTIONS = {
    '-mf', '--model-file', '-im', '--init-model', '-df', '--dict-file', '-dp', '--datapath',
    '--report-dir', '--guard-model-file', '--canary-model-file', '--guarded-model-file',
    '--prosocial-data-dir', '--toxichat-data-dir', '--toxichat-stance-model-file',
    '--toxichat-offensive-model-file', '--toxichat-bad-words-file',
}
#: options whose value is a file or folder when one of that name exists (else a name: a preset,
#: a Hugging Face hub model)
MAYBE_PATH_OPTIONS = {'-o', '--init-opt', '--model-name', '--t5-model-arch'}

#: the environment variables that choose the data of the report's passes (each task's data folder,
#: ParlAI's data path, where zoo: models live): recorded, and their values written into the
#: commands as options
DATA_ENVIRONMENT = {
    data_dir_env(PROSOCIAL): '--prosocial-data-dir',
    data_dir_env(TOXICHAT): '--toxichat-data-dir',
    'PARLAI_DATAPATH': '--datapath',
}

#: a Canary's saved ``model`` (a T5 agent's checkpoint loads as Canary too: load_canary)
CANARY_MODELS = ('canary', 'hugging_face/t5', 't5', 'parlai.agents.hugging_face.t5:T5Agent')

HELP_FLAGS = ('-h', '--help', '--helpall')


class ReportError(ProsocialOptionError):
    """
    Input the report refuses before any work: a report folder it cannot use, a model that cannot
    generate, a Canary that is not one, classifiers that do not fit; one line.
    """


def _refuse(message):
    raise ReportError(f'{message} (python -m parlai_prosocial.report --help lists the options)')


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        _refuse(message)


def report_arguments(parser):
    """
    The report's own options (all others are the model's, passed to every pass).
    """
    group = parser.add_argument_group('Prosocial report')
    # not required=True: ParlAI's parser looks at the arguments once without --help, and argparse
    # would then print its whole usage for the missing folder before the help
    group.add_argument('--report-dir', default=None,
                       help='the folder to write the report to (required); a folder that holds '
                       'files only with --overwrite')
    group.add_argument('--overwrite', action='store_true',
                       help='write into a folder that is not empty: the files an earlier report '
                       'wrote there are replaced, other files are kept')
    group.add_argument(
        '--guard-model-file', default=None,
        help='a Canary (-m canary model file, or zoo:canary/model): adds the guarded model '
        '(-m canary_guard in front of the model) to every section')
    group.add_argument(
        '--guard-args', default='',
        help='more options of -m canary_guard, one string, e.g. "--guard-rots greedy"')
    group.add_argument(
        '--prosocial-task', default='auto',
        choices=['auto', 'prosocial', RESPONSE_TASK, ROT_RESPONSE_TASK],
        help=f'the ProsocialDialog teacher (Table 3); auto: the format the model was trained on '
        f'(its saved task): {ROT_RESPONSE_TASK} for a RoT & Response model, {RESPONSE_TASK} '
        'otherwise')
    group.add_argument('--prosocial-data-dir', default=None,
                       help='ProsocialDialog files (default: $PROSOCIAL_DATA_DIR or download)')
    group.add_argument('--toxichat-data-dir', default=None,
                       help='ToxiChat files (default: $TOXICHAT_DATA_DIR or download)')
    group.add_argument('--toxichat-stance-model-file', default=None,
                       help='the stance classifier (Table 5\'s disagree / agree / neutral)')
    group.add_argument('--toxichat-offensive-model-file', default=None,
                       help='the offensive classifier (Table 5\'s offensive share)')
    group.add_argument(
        '--toxichat-classifier-input', default='auto', choices=['auto', *CLASSIFIER_INPUTS],
        help='what the classifiers read; auto: what they were trained on (their saved options)')
    group.add_argument('--toxichat-decision', default='argmax', choices=['argmax', 'thresholds'],
                       help='as the toxichat teacher\'s option of that name')
    group.add_argument('--examples', '--examples-per-level', dest='examples', type=int,
                       default=3,
                       help='examples shown per safety level, and of ToxiChat threads (0: none)')
    group.add_argument('--examples-seed', type=int, default=0,
                       help='the seed choosing the examples')
    return parser


def setup_args():
    parser = eval_model_args()
    parser.description = 'How prosocial is a dialogue model, with and without Canary in front'
    # one line, not ParlAI's whole usage before the error (ParlaiParser.error prints both)
    parser.error = _refuse
    return report_arguments(parser)


def split_arguments(argv):
    """
    ``(report options, the model's and the evaluation's arguments)`` of the report's argv.
    """
    own = report_arguments(_OneLineParser(add_help=False, allow_abbrev=False))
    known, rest = own.parse_known_args(argv)
    return known, rest


def option_groups(args):
    """
    ``args`` as ``[(flag, [values])]``: each option with the values that follow it.
    """
    groups = []
    for token in args:
        if token.startswith('-') and not _is_number(token):
            flag, equals, value = token.partition('=')
            groups.append((flag, [value] if equals else []))
        elif groups:
            groups[-1][1].append(token)
        else:
            raise ReportError(f'{token!r}: an argument without an option before it')
    return groups


def _is_number(token):
    try:
        float(token)
        return True
    except ValueError:
        return False


def absolute_arguments(args):
    """
    ``args`` with the value of every file or folder option absolute (resolved from the current
    folder, as the command would resolve it), so that the command reads the same files when it is
    run again from any other folder; ``zoo:`` names, presets and hub names stay as they are.
    """
    absolute = []
    for flag, values in option_groups(args):
        if values and (flag in PATH_OPTIONS or (
                flag in MAYBE_PATH_OPTIONS and os.path.exists(os.path.expanduser(values[-1])))):
            values = values[:-1] + [_absolute(values[-1])]
        absolute += [flag] + values
    return absolute


def _absolute(path):
    if not path.strip() or ':' in path.split(os.sep)[0]:  # '' (refused later), zoo:..., s3:...
        return path
    return os.path.abspath(os.path.expanduser(path))


def guard_arguments(guard_args):
    """
    ``--guard-args`` as arguments (paths made absolute); one line if it cannot be split.
    """
    try:
        return absolute_arguments(shlex.split(guard_args or ''))
    except ValueError as e:
        raise ReportError(f'--guard-args {guard_args!r} cannot be split into arguments ({e}): '
                          'check its quotes') from None


def guarded_arguments(model_args, guard_model_file, guard_args):
    """
    The model's arguments turned into ``-m canary_guard``'s: -m / -mf become --guarded-model /
    --guarded-model-file, the model's other options go into --guarded-args, the evaluation's
    stay.
    """
    top, guarded, model, model_file = [], [], None, None
    for flag, values in option_groups(model_args):
        if flag in ('-m', '--model'):
            model = values[-1]
        elif flag in ('-mf', '--model-file'):
            model_file = values[-1]
        elif flag in EVALUATION_OPTIONS:
            top += [flag] + values
        else:
            guarded += [flag] + values
    args = ['-m', 'canary_guard', '--canary-model-file', guard_model_file]
    if model:
        args += ['--guarded-model', model]
    if model_file:
        args += ['--guarded-model-file', model_file]
    if guarded:
        args += ['--guarded-args', shlex.join(guarded)]
    return args + top + guard_arguments(guard_args)


# --- the checks before any work ------------------------------------------------------------------


def check_arguments(own, model_args):
    """
    What can be checked before ParlAI parses the command (which would load the agent named by
    -m): the report folder, the report's own values, the agent's name. Returns the folder.
    """
    from .folder import check_report_dir

    folder = check_report_dir(own.report_dir, own.overwrite)
    if own.examples < 0:
        raise ReportError(f'--examples {own.examples}: expected a number of examples >= 0')
    guard_arguments(own.guard_args)
    for flag, values in option_groups(model_args):
        if flag in ('-m', '--model') and values:
            agent_class(values[-1], flag)
    return folder


def agent_class(name, option, where=''):
    """
    The agent class ParlAI loads for ``-m name``; one line if there is none.
    """
    try:
        return load_agent_module(name)
    except (ImportError, AttributeError) as e:
        missing = getattr(e, 'name', None) or ''
        if missing.startswith(('parlai.agents.', 'parlai_internal.', 'projects.')) or (
                isinstance(e, AttributeError)):
            raise ReportError(
                f'{option} {name}{where}: no such agent (ParlAI looked for {missing or e}); '
                '`python -m parlai_prosocial` lists the plugin\'s agents') from None
        raise ReportError(f'{option} {name}{where}: the agent cannot be loaded ({e})') from None


def _saved_opt(model_file, datapath, option):
    path = modelzoo_path(datapath, model_file)
    opt = saved_options(path + '.opt', missing_ok=True)
    if opt is None:
        raise ReportError(f'{option} {model_file}: no such model (no {path}.opt)')
    return opt


def check_generator(opt, option='the model'):
    """
    The model must write replies: a classifier or a ranker (which only picks among candidates,
    and ProsocialDialog and ToxiChat give none) cannot, and a Canary is a safety module.
    """
    from parlai.core.torch_classifier_agent import TorchClassifierAgent
    from parlai.core.torch_ranker_agent import TorchRankerAgent

    name = opt.get('model')
    if not name:
        raise ReportError(f'{option}: give -m or -mf')
    where = f' ({opt["model_file"]})' if opt.get('model_file') else ''
    cls = agent_class(name, '-m', where)
    if name == 'canary':
        raise ReportError(
            f'{option}{where} is a Canary, a safety module, not a dialogue model: give it as '
            '--guard-model-file')
    for kind, base in (('classifier', TorchClassifierAgent), ('ranker', TorchRankerAgent)):
        if isinstance(cls, type) and issubclass(cls, base):
            raise ReportError(
                f'{option} -m {name}{where} is a {kind}: it cannot generate replies (the '
                'report needs a model that writes them)')


def check_canary(guard_model_file, datapath):
    opt = _saved_opt(guard_model_file, datapath, '--guard-model-file')
    model = opt.get('model')
    if model not in CANARY_MODELS:
        raise ReportError(
            f'--guard-model-file {guard_model_file}: not a Canary (a -m {model} model; a Canary '
            'is a -m canary model file, or a T5 checkpoint, -m hugging_face/t5, which loads as '
            'one)')


def check_classifier(option, model_file, opt, kind, classes):
    """
    A ToxiChat classifier (``kind``: stance or offensive) must answer with ``classes``: a
    classifier (ParlAI's ``TorchClassifierAgent``) of those classes, or a model saved with exactly
    them.
    """
    from parlai.core.torch_classifier_agent import TorchClassifierAgent

    model = opt.get('model')
    saved_classes = opt.get('classes')
    if saved_classes is not None and sorted(saved_classes) != sorted(classes):
        raise ReportError(
            f'{option} {model_file}: a classifier of {list(saved_classes)}, this metric '
            f'needs {list(classes)}')
    cls = agent_class(model, '-m', f' (saved in {model_file})') if model else None
    if saved_classes is None and not (isinstance(cls, type)
                                      and issubclass(cls, TorchClassifierAgent)):
        raise ReportError(
            f'{option} {model_file}: a -m {model} model, not a classifier of {list(classes)}; '
            f'{option} takes a classifier trained on toxichat:{kind} (e.g. -o '
            f'prosocial/tiny_toxichat_{kind})')


def classifier_input(args, datapath):
    """
    What the ToxiChat classifiers read: the option, or (auto) what they were trained on; both
    classifiers must be classifiers of the right classes and agree.
    """
    modes = {}
    for kind, model_file, classes in (
        ('stance', args.toxichat_stance_model_file, STANCE_LABELS),
        ('offensive', args.toxichat_offensive_model_file, OFFENSE_LABELS),
    ):
        if not model_file:
            continue
        option = f'--toxichat-{kind}-model-file'
        opt = _saved_opt(model_file, datapath, option)
        check_classifier(option, model_file, opt, kind, classes)
        mode = trained_classifier_input(opt)
        if args.toxichat_classifier_input != 'auto' and mode and (
                mode != args.toxichat_classifier_input):
            raise ReportError(
                f'{option} {model_file}: trained with --toxichat-classifier-input {mode}, but '
                f'the report is asked to score with {args.toxichat_classifier_input}')
        modes[option] = (model_file, mode)
    found = {mode for _, mode in modes.values() if mode}
    if len(found) > 1:
        raise ReportError(
            'the ToxiChat classifiers read different inputs: '
            + ', '.join(f'{option} {f}: {mode}' for option, (f, mode) in modes.items())
            + ' (train both with the same --toxichat-classifier-input)')
    if args.toxichat_classifier_input != 'auto':
        return args.toxichat_classifier_input, modes
    return (found.pop() if found else 'pair'), modes


def prosocial_task(choice, model_opt):
    """
    ``(teacher, why)``: the ProsocialDialog teacher the model is scored on, and the reason said
    in the report.
    """
    if choice != 'auto':
        return (RESPONSE_TASK if choice == 'prosocial' else choice), 'chosen with --prosocial-task'
    saved = [t.strip() for t in str(model_opt.get('task') or '').split(',') if t.strip()]
    trained_on = f' (its saved task: {",".join(saved)})' if saved else ''
    if ROT_RESPONSE_TASK in saved:
        return ROT_RESPONSE_TASK, f'the format the model was trained on{trained_on}'
    if RESPONSE_TASK in saved or 'prosocial' in saved:
        return RESPONSE_TASK, f'the format the model was trained on{trained_on}'
    return RESPONSE_TASK, (f'the model was not trained on ProsocialDialog{trained_on}: its '
                           'replies are scored alone')


# --- the passes -----------------------------------------------------------------------------------


def _rng_state():
    import numpy as np
    import torch

    return random.getstate(), np.random.get_state(), torch.get_rng_state()


def _set_rng_state(state):
    import numpy as np
    import torch

    random.setstate(state[0])
    np.random.set_state(state[1])
    torch.set_rng_state(state[2])


class Pass:
    """
    One ``parlai eval_model`` command run through ParlAI's evaluation loop, batch by batch,
    keeping every example's teacher message and reply (with its metrics) and each batch's time.
    """

    def __init__(self, key, title, args):
        self.key, self.title, self.args = key, title, list(args)
        self.opt = eval_model_args().parse_args(self.args)
        self.records = []
        self.report = None
        #: per batch: (turns, seconds, Canary's seconds or None)
        self.batches = []

    @property
    def command(self):
        return shlex.join(['parlai', 'eval_model'] + self.args)

    def build(self, agent, rng_after_agent, canary_clock=None):
        """
        The world, created from the random state a separate run has after building its agent;
        the state at the start of the loop kept for :meth:`step`.
        """
        self.canary_clock = canary_clock
        _set_rng_state(rng_after_agent)
        self.world = create_task(self.opt, agent)
        self.rng = _rng_state()

    def start(self):
        self.world.reset_metrics()
        self.count = 0
        max_count = self.opt['num_examples']
        self.max_count = max_count if max_count > 0 else float('inf')
        self.total = min(self.max_count, self.world.num_examples())

    @property
    def done(self):
        return self.world.epoch_done() or self.count >= self.max_count

    def step(self):
        """
        One batch of eval_model's loop (parlai/scripts/eval_model.py: _eval_single_world), under
        this pass's own random state: passes run in turns give what each gives alone.
        """
        _set_rng_state(self.rng)
        canary_before = self.canary_clock['seconds'] if self.canary_clock else None
        kept = len(self.records)
        self.count += self.opt.get('batchsize', 1)
        start = time.perf_counter()
        self.world.parley()
        seconds = time.perf_counter() - start
        self.rng = _rng_state()
        self._keep(self.world)
        canary = self.canary_clock['seconds'] - canary_before if self.canary_clock else None
        self.batches.append((len(self.records) - kept, seconds, canary))

    def finish(self):
        self.report = aggregate_unnamed_reports([self.world.report()])
        self.world.reset()

    def _keep(self, world):
        # each example's teacher act and reply, whose 'metrics' the teacher has just filled in
        teacher_acts, replies = world.acts[0], world.acts[1]
        if not isinstance(teacher_acts, list):
            teacher_acts, replies = [teacher_acts], [replies]
        for teacher_act, reply in zip(teacher_acts, replies):
            if not teacher_act or teacher_act.get('batch_padding') or 'text' not in teacher_act:
                continue
            self.records.append((teacher_act, reply or {}))

    def timed_batches(self):
        """
        ``[(turns, seconds, Canary's seconds)]`` of the batches timed: the warm-up left out.
        """
        return [b for b in self.batches[WARMUP_BATCHES:] if b[0]]

    def numbers(self):
        return {k: _value(v) for k, v in sorted(self.report.items()) if k not in TIMED_METRICS}

    def by_level(self):
        """
        {safety level: {metric: value}} from the per-example metrics, summed as ParlAI sums them.
        """
        sums = {}
        for teacher_act, reply in self.records:
            level = teacher_act.get('safety_label')
            level_sums = sums.setdefault(level, {})
            for name, metric in (reply.get('metrics') or {}).items():
                if name in TIMED_METRICS:
                    continue
                level_sums[name] = metric if name not in level_sums else level_sums[name] + metric
        return {
            level: {name: _value(m) for name, m in sorted(sums[level].items())}
            for level in SAFETY_LABELS if level in sums
        }


def _value(metric):
    value = metric.value() if hasattr(metric, 'value') else metric
    return int(value) if isinstance(value, bool) else value


def run_in_turns(passes, stage):
    """
    Run ``passes`` (one dataset, unguarded and guarded) to the end, one batch of each in turn, so
    that both meet the same load of the machine when their batches are timed.
    """
    for p in passes:
        p.start()
    title = passes[0].title.split(',')[0]
    logging.info(f'{stage} {title}: {passes[0].total} examples, '
                 f'{" and ".join(p.key[1] for p in passes)}')
    progress, log_every = TimeLogger(), passes[0].opt.get('log_every_n_secs', -1)
    log_every = log_every if log_every > 0 else float('inf')
    while not all(p.done for p in passes):
        for p in passes:
            if not p.done:
                p.step()
        if progress.time() > log_every:
            text, _ = progress.log(len(passes[0].records), passes[0].total)
            logging.info(f'{stage} {title}: {text}')
    for p in passes:
        p.finish()


def _process_started():
    """
    The ``time.perf_counter()`` this process started at (Linux: its start time since boot), so
    the report's time is the command's wall time, Python's start-up and imports included; None
    where that is not known.
    """
    try:
        with open('/proc/self/stat', encoding='utf-8') as f:
            fields = f.read().rsplit(')', 1)[1].split()
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - int(fields[19]) / os.sysconf(
            'SC_CLK_TCK')
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return time.perf_counter() - age


class ProsocialReport(ParlaiScript):
    """
    ``python -m parlai_prosocial.report``; see the package docstring and docs/report.md.
    """

    #: set by ``python -m parlai_prosocial.report``: the process is the report, so its time is
    #: counted from the process's start
    whole_process = False

    @classmethod
    def setup_args(cls):
        return setup_args()

    @classmethod
    def _run_args(cls, args=None):
        # as ParlaiScript's, keeping the arguments: each pass is an eval_model command made of them
        started = (cls.whole_process and _process_started()) or time.perf_counter()
        if args is not None and len(args) == 1 and isinstance(args[0], (list, tuple)):
            args = args[0]  # main([...]), as ParlaiScript's docstring calls it
        args = [str(a) for a in (sys.argv[1:] if args is None else args)]
        # before ParlAI parses anything: its parser sets $PARLAI_DATAPATH itself
        environment = {name: os.environ.get(name) for name in DATA_ENVIRONMENT}
        parser = cls.setup_args()
        folder = None
        if not any(a in HELP_FLAGS for a in args):
            args = absolute_arguments(args)
            folder = check_arguments(*split_arguments(args))
        try:
            opt = parser.parse_args(args=args)  # with --help: prints it, exits with status 0
        except ImportError as e:  # the agent of -mf's saved options, say
            raise ReportError(f'the model cannot be loaded: {e}') from None
        logging.set_log_level(opt.get('loglevel', 'info').upper())
        script = cls(opt)
        script.parser, script.argv, script.folder = parser, args, folder
        script.started, script.environment = started, environment
        return script.run()

    @classmethod
    def _run_kwargs(cls, kwargs):
        return cls._run_args(cls.setup_args()._kwargs_to_str_args(**kwargs))

    def run(self):
        from .render import write_report

        args, model_args = split_arguments(self.argv)
        # the options the report sets itself (the teacher, the split, generation on: the report
        # says which), the evaluation's (-bs, --loglevel, ...) and those an agent sets inside
        # (Canary's decoding in the guard, the classifiers' datatype) load quietly; the model's
        # own options given by the user still say so
        with overriding_quietly(but=self._user_keys(model_args)):
            passes, facts = self.plan(args, model_args)
            self.build(passes)
            by_dataset = {}
            for p in passes:
                by_dataset.setdefault(p.key[0], []).append(p)
            for number, dataset_passes in enumerate(by_dataset.values(), 1):
                run_in_turns(dataset_passes, f'[{number}/{len(by_dataset)}]')
        facts.update(started=self.started, whole_process=self.whole_process)
        return write_report(args, self.folder, passes, facts)

    def _user_keys(self, model_args):
        # the model's own options (--inference, --beam-size, ...), not the evaluation's
        actions = self.parser._option_string_actions
        return {actions[flag].dest for flag, _ in option_groups(model_args)
                if flag in actions and flag not in EVALUATION_OPTIONS}

    def plan(self, args, model_args):
        """
        The passes (their eval_model commands, parsed), after every check that needs no model
        loaded; facts for the report.
        """
        if importlib.util.find_spec('matplotlib') is None:
            raise ReportError('the report draws its charts with matplotlib: pip install '
                              '"parlai-prosocial[report]" (or scripts/install.sh)')
        datapath = self.opt['datapath']
        model_opt = self.opt
        if self.opt.get('model_file'):
            # the saved options, with what the command line sets explicitly (as ParlAI loads it)
            model_opt = dict(_saved_opt(self.opt['model_file'], datapath, '-mf'))
            model_opt.update({k: v for k, v in self.opt.get('override', {}).items()
                              if k != 'task'})
        check_generator(model_opt)
        if args.guard_model_file:
            check_canary(args.guard_model_file, datapath)
        mode, classifiers = classifier_input(args, datapath)
        task, task_reason = prosocial_task(args.prosocial_task, model_opt)
        # the data each pass reads, named in its command: a folder given through an environment
        # variable is written as the option it is the default of
        environment = self.environment
        given = {'--prosocial-data-dir': args.prosocial_data_dir,
                 '--toxichat-data-dir': args.toxichat_data_dir,
                 '--datapath': 'datapath' in self.opt.get('override', {})}
        chosen = {option: _absolute(environment[name])
                  for name, option in DATA_ENVIRONMENT.items()
                  if environment[name] and not given[option]}
        prosocial_dir = args.prosocial_data_dir or chosen.get('--prosocial-data-dir')
        toxichat_dir = args.toxichat_data_dir or chosen.get('--toxichat-data-dir')
        if '--datapath' in chosen:
            model_args = model_args + ['--datapath', chosen['--datapath']]
        data = {
            PROSOCIAL: [task, '-dt', 'test'] + _given('--prosocial-data-dir', prosocial_dir),
            TOXICHAT: ['toxichat', '-dt', 'test', '--toxichat-classifier-input', mode]
            + _given('--toxichat-data-dir', toxichat_dir)
            + _given('--toxichat-stance-model-file', args.toxichat_stance_model_file)
            + _given('--toxichat-offensive-model-file', args.toxichat_offensive_model_file)
            + (['--toxichat-decision', args.toxichat_decision]
               if args.toxichat_decision != 'argmax' else []),
        }
        titles = {PROSOCIAL: f'ProsocialDialog test ({task})', TOXICHAT: 'ToxiChat test'}
        # generation on: Table 3 scores generated replies, and ParlAI keeps a model's saved
        # --skip-generation true (as the training recipes leave it); only a model that has the
        # option takes it (repeat_query, say, has none)
        if model_opt.get('skip_generation'):
            model_args = model_args + ['--skip-generation', 'false']
        model_sides = [(UNGUARDED, model_args)]
        if args.guard_model_file:
            model_sides.append((GUARDED, guarded_arguments(
                model_args, args.guard_model_file, args.guard_args)))
        passes = []
        for dataset in (PROSOCIAL, TOXICHAT):
            for side, side_args in model_sides:
                command = side_args + ['-t'] + data[dataset]
                passes.append(Pass((dataset, side), f'{titles[dataset]}, {side}', command))
        # the report's own command as it reruns: the data chosen through the environment named,
        # and --overwrite, since its folder now holds this report
        own = ['python', '-m', 'parlai_prosocial.report'] + self.argv
        for option, value in chosen.items():
            own += [option, value]
        if not args.overwrite:
            own.append('--overwrite')
        facts = dict(prosocial_task=task, prosocial_task_reason=task_reason,
                     classifier_input=mode, environment=environment,
                     data_dirs={PROSOCIAL: prosocial_dir, TOXICHAT: toxichat_dir},
                     datapath=os.path.abspath(datapath), report_command=shlex.join(own),
                     argv=own[3:],
                     classifiers={o: f for o, (f, _) in classifiers.items()},
                     classifier_modes={o: m for o, (_, m) in classifiers.items()})
        return passes, facts

    def build(self, passes):
        """
        Every agent and world before any pass runs, so that bad data, a missing split or an
        unfit classifier stops the report before any work. Each agent is built as eval_model
        builds it (seeded first); each world from the random state right after its agent.
        """
        by_side = {}
        for p in passes:
            side = p.key[1]
            if side not in by_side:
                # as eval_model seeds before building its agent (the fix seed_evaluation)
                seed_everything(EVAL_SEED)
                agent = create_agent(p.opt, requireModelExists=True)
                by_side[side] = (agent, _rng_state(), _time_canary(agent))
            p.build(*by_side[side])


def _time_canary(agent):
    """
    A clock around the guard's Canary (its one classify_batch per batch of turns): how much of a
    guarded turn's time is Canary's own.
    """
    canary = getattr(agent, 'canary', None)
    if canary is None:
        return None
    clock = {'seconds': 0.0}
    classify_batch = canary.classify_batch

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return classify_batch(*args, **kwargs)
        finally:
            clock['seconds'] += time.perf_counter() - start

    canary.classify_batch = timed
    return clock


def _given(option, value):
    return [option, value] if value else []
