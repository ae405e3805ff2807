"""
The report's command: its options, the ``eval_model`` commands it stands for, the checks made
before any work, and the passes (see the package docstring).
"""

import argparse
import importlib.util
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

from parlai_prosocial.errors import ProsocialOptionError
from parlai_prosocial.model_files import saved_options
from parlai_prosocial.formats import (
    CLASSIFIER_INPUTS,
    OFFENSE_LABELS,
    SAFETY_LABELS,
    STANCE_LABELS,
    trained_classifier_input,
)
from parlai_prosocial.parlai_fixes import EVAL_SEED, seed_everything

#: the datasets, by key: (title, task)
PROSOCIAL, TOXICHAT = 'prosocial', 'toxichat'
UNGUARDED, GUARDED = 'unguarded', 'guarded'

#: metrics a run measures with the clock (examples or tokens per second): never equal between
#: two runs, so they are left out of the results, which hold only what a rerun repeats
TIMED_METRICS = ('exps', 'ctps', 'ltps', 'tps', 'gen_tps')

#: eval_model options that belong to the evaluation, not to the model: kept at the top level of
#: the guarded command when the model's own options move into --guarded-args
EVALUATION_OPTIONS = {
    '-bs', '--batchsize', '-ne', '--num-examples', '-dt', '--datatype', '-dp', '--datapath',
    '--loglevel', '-ltim', '--log-every-n-secs', '-mcs', '--metrics', '-micro',
    '--aggregate-micro', '-d', '--display-examples', '-ebs', '--eval-batchsize',
}

#: a Canary's saved ``model`` (a T5 agent's checkpoint loads as Canary too: load_canary)
CANARY_MODELS = ('canary', 'hugging_face/t5', 't5', 'parlai.agents.hugging_face.t5:T5Agent')



class ReportError(ProsocialOptionError):
    """
    Input the report refuses before any work: a model that cannot generate, a Canary that is
    not one, classifiers that do not fit; one line.
    """


def report_arguments(parser):
    """
    The report's own options (all others are the model's, passed to every pass).
    """
    group = parser.add_argument_group('Prosocial report')
    group.add_argument('--report-dir', required=True, help='the folder to write the report to')
    group.add_argument(
        '--guard-model-file', default=None,
        help='a Canary (-m canary model file, or zoo:canary/model): adds the guarded model '
        '(-m canary_guard in front of the model) to every section')
    group.add_argument(
        '--guard-args', default='',
        help='more options of -m canary_guard, one string, e.g. "--guard-rots greedy"')
    group.add_argument(
        '--prosocial-task', default='auto',
        choices=['auto', 'prosocial', 'prosocial:response', 'prosocial:rot_response'],
        help='the ProsocialDialog teacher (Table 3): auto = prosocial:rot_response for a Prost '
        'trained on it, prosocial:response otherwise')
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
    group.add_argument('--examples-per-level', type=int, default=3,
                       help='examples shown per safety level')
    group.add_argument('--examples-seed', type=int, default=0,
                       help='the seed choosing the examples')
    return parser


def setup_args():
    parser = eval_model_args()
    parser.description = 'How prosocial is a dialogue model, with and without Canary in front'
    return report_arguments(parser)


def split_arguments(argv):
    """
    ``(report options, the model's and the evaluation's arguments)`` of the report's argv.
    """
    own = report_arguments(argparse.ArgumentParser(add_help=False))
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
    return args + top + shlex.split(guard_args or '')


# --- the checks before any work ------------------------------------------------------------------


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
    cls = load_agent_module(name)
    where = f' ({opt["model_file"]})' if opt.get('model_file') else ''
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


def classifier_input(args, datapath):
    """
    What the ToxiChat classifiers read: the option, or (auto) what they were trained on; both
    classifiers must agree and have the right classes.
    """
    modes = {}
    for option, model_file, classes in (
        ('--toxichat-stance-model-file', args.toxichat_stance_model_file, STANCE_LABELS),
        ('--toxichat-offensive-model-file', args.toxichat_offensive_model_file,
         OFFENSE_LABELS),
    ):
        if not model_file:
            continue
        opt = _saved_opt(model_file, datapath, option)
        saved_classes = opt.get('classes')
        if saved_classes is not None and sorted(saved_classes) != sorted(classes):
            raise ReportError(
                f'{option} {model_file}: a classifier of {list(saved_classes)}, this metric '
                f'needs {list(classes)}')
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
    if choice != 'auto':
        return choice
    if model_opt.get('model') == 'prost' and 'rot_response' in str(model_opt.get('task') or ''):
        return 'prosocial:rot_response'
    return 'prosocial:response'


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
    One ``parlai eval_model`` command run through ParlAI's evaluation loop, keeping every
    example's teacher message and reply (with its metrics).
    """

    def __init__(self, key, title, args):
        self.key, self.title, self.args = key, title, list(args)
        self.opt = eval_model_args().parse_args(self.args)
        self.records = []
        self.report = None
        self.seconds = None

    @property
    def command(self):
        return shlex.join(['parlai', 'eval_model'] + self.args)

    def build(self, agent, rng_after_agent, canary_clock=None):
        """
        The world, created from the random state a separate run has after building its agent;
        the state at the start of the loop kept for :meth:`run`.
        """
        self.canary_clock = canary_clock
        self.canary_seconds = None
        _set_rng_state(rng_after_agent)
        self.world = create_task(self.opt, agent)
        self.rng = _rng_state()

    def run(self, stage):
        opt, world = self.opt, self.world
        _set_rng_state(self.rng)
        world.reset_metrics()
        log_every = opt.get('log_every_n_secs', -1)
        log_every = log_every if log_every > 0 else float('inf')
        max_count = opt['num_examples'] if opt['num_examples'] > 0 else float('inf')
        total = min(max_count, world.num_examples())
        logging.info(f'{stage} {self.title}: {total} examples')
        canary_before = self.canary_clock['seconds'] if self.canary_clock else None
        progress, count, start = TimeLogger(), 0, time.perf_counter()
        # eval_model's loop (parlai/scripts/eval_model.py: _eval_single_world), keeping each
        # example's teacher act and reply, whose 'metrics' the teacher has just filled in
        while not world.epoch_done() and count < max_count:
            count += opt.get('batchsize', 1)
            world.parley()
            self._keep(world)
            if progress.time() > log_every:
                text, _ = progress.log(len(self.records), total)
                logging.info(f'{stage} {self.title}: {text}')
        self.seconds = time.perf_counter() - start
        if self.canary_clock:
            self.canary_seconds = self.canary_clock['seconds'] - canary_before
        self.report = aggregate_unnamed_reports([world.report()])
        world.reset()
        logging.info(f'{stage} {self.title}: {len(self.records)} examples in {self.seconds:.1f} s')

    def _keep(self, world):
        teacher_acts, replies = world.acts[0], world.acts[1]
        if not isinstance(teacher_acts, list):
            teacher_acts, replies = [teacher_acts], [replies]
        for teacher_act, reply in zip(teacher_acts, replies):
            if not teacher_act or teacher_act.get('batch_padding') or 'text' not in teacher_act:
                continue
            self.records.append((teacher_act, reply or {}))

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


class ProsocialReport(ParlaiScript):
    """
    ``python -m parlai_prosocial.report``; see the package docstring and docs/report.md.
    """

    @classmethod
    def setup_args(cls):
        return setup_args()

    @classmethod
    def _run_args(cls, args=None):
        # as ParlaiScript's, keeping the arguments: each pass is an eval_model command made of them
        if args is not None and len(args) == 1 and isinstance(args[0], (list, tuple)):
            args = args[0]  # main([...]), as ParlaiScript's docstring calls it
        args = [str(a) for a in (sys.argv[1:] if args is None else args)]
        parser = cls.setup_args()
        opt = parser.parse_args(args=args)
        logging.set_log_level(opt.get('loglevel', 'info').upper())
        script = cls(opt)
        script.parser, script.argv = parser, args
        return script.run()

    @classmethod
    def _run_kwargs(cls, kwargs):
        return cls._run_args(cls.setup_args()._kwargs_to_str_args(**kwargs))

    def run(self):
        from .render import write_report

        started = time.perf_counter()
        args, model_args = split_arguments(self.argv)
        passes, facts = self.plan(args, model_args)
        self.build(passes, args)
        for number, p in enumerate(passes, 1):
            p.run(f'[{number}/{len(passes)}]')
        facts['seconds'] = time.perf_counter() - started
        return write_report(args, self.argv, passes, facts)

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
        task = prosocial_task(args.prosocial_task, model_opt)
        data = {
            PROSOCIAL: [task, '-dt', 'test']
            + _given('--prosocial-data-dir', args.prosocial_data_dir),
            TOXICHAT: ['toxichat', '-dt', 'test', '--toxichat-classifier-input', mode]
            + _given('--toxichat-data-dir', args.toxichat_data_dir)
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
        for side, side_args in model_sides:
            for dataset in (PROSOCIAL, TOXICHAT):
                command = side_args + ['-t'] + data[dataset]
                passes.append(Pass((dataset, side), f'{titles[dataset]}, {side}', command))
        facts = dict(prosocial_task=task, classifier_input=mode,
                     classifiers={o: f for o, (f, _) in classifiers.items()},
                     classifier_modes={o: m for o, (_, m) in classifiers.items()})
        return passes, facts

    def build(self, passes, args):
        """
        Every agent and world before any pass runs, so that bad data, a missing split or an
        unfit classifier stops the report before any work. Each agent is built as eval_model
        builds it (seeded first); each world from the random state right after its agent.
        """
        by_side = {}
        for p in passes:
            side = p.key[1]
            if side not in by_side:
                # as eval_model seeds before building its agent (parlai_fixes.seed_evaluation)
                seed_everything(EVAL_SEED)
                agent = create_agent(p.opt, requireModelExists=True)
                by_side[side] = (agent, _rng_state(), _time_canary(agent))
            p.build(*by_side[side])


def _time_canary(agent):
    """
    A clock around the guard's Canary (its one classify_batch per batch of turns), so the time
    Canary adds to a turn is measured where it is spent, not as the difference of two passes
    (the first pass of a process also pays for what is loaded lazily).
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
