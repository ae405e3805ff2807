"""
Any ParlAI dialogue task as Canary examples labelled ``__casual__`` (paper §4.1, App. B.1).

Canary is trained on ProsocialDialog mixed with DailyDialog, EmpatheticDialogues and
BlendedSkillTalk (4:1:1:1) "to accommodate diverse safe contexts": every context of those
datasets is a CASUAL example. ``-t casual_safety:TASK`` wraps the ParlAI task ``TASK`` and gives,
like the ``prosocial:safety`` teacher, one example per turn whose text is the whole dialogue so
far (earlier turns, newline-separated as ParlAI's history writes them) and whose label is
``__casual__``::

    parlai display_data -t casual_safety:dailydialog
    parlai train_model -m canary -t prosocial:safety,casual_safety:dailydialog,\\
        casual_safety:empathetic_dialogues,casual_safety:blended_skill_talk \\
        --multitask-weights 4,1,1,1 ...

``TASK`` is any ParlAI task name; a teacher of it follows as a third part
(``casual_safety:wizard_of_wikipedia:WizardDialogKnowledge``), and
``-t casual_safety:casual_task=TASK`` (``;`` for ``:`` inside the value) is the long form. The
wrapped teacher gets its own default options (its command-line options can be passed too) and is
read once, in order, for the split asked for. Its messages become contexts as follows:

* the text of each message, then its label (``labels`` in train, ``eval_labels`` otherwise) go
  into the history; every text closes one context;
* lines that are not dialogue are dropped: ParlAI's ``__SILENCE__`` placeholder (DailyDialog's
  "the other side starts") and persona lines (``your persona: ...``, ``partner's persona: ...``,
  as BlendedSkillTalk's first turn has); an example left without any line is skipped. Keep them
  with ``--casual-keep-context-lines true``. Other context lines (e.g. BST's Wizard of Wikipedia
  topic) stay.

Every example also carries ``safety_label`` (``__casual__``), ``rots`` (``[]``) and ``source``
(the wrapped task), the fields the ProsocialDialog teachers have.

Why a wrapper teacher and not a ParlAI mutator (``--mutators``): in ParlAI 1.7.2 mutators are
found only by scanning the ``parlai.mutators`` *folder* (``setup_mutator_registry`` iterates over
``parlai.mutators.__path__``), so one of ours is never registered unless something imported it
first, which neither the command-line parser (it resolves ``--mutators`` while adding task
arguments) nor the workers ``multiprocessing_train`` spawns do. A global ``--mutators`` would
also relabel the ProsocialDialog task of the same mixture; the per-task form
(``-t dailydialog:mutators=...``) only works through task flags, and the counts ParlAI reports
for a mutated teacher are the unmutated ones. A task name, in contrast, resolves through our import
hook in every process, mixes with ``--multitask-weights`` like any task, and reports the true
number of examples.
"""

import copy
import re

from parlai.core.loader import load_teacher_module
from parlai.core.message import Message
from parlai.core.params import ParlaiParser
from parlai.core.teachers import DialogTeacher, create_task_agent_from_taskname

from parlai_prosocial.errors import ProsocialOptionError
from parlai_prosocial.exact_workers import read_as_one_process
from parlai_prosocial.formats import CASUAL

TASK_NAME = 'casual_safety'

_SILENCE = '__SILENCE__'
_PERSONA_LINE = re.compile(r"^(your|partner's) persona:")


def _dialogue_lines(text, keep_context_lines):
    lines = text.split('\n')
    if keep_context_lines:
        return lines
    return [
        line
        for line in lines
        if line.strip() and line.strip() != _SILENCE and not _PERSONA_LINE.match(line.strip())
    ]


def casual_contexts(messages, keep_context_lines=False):
    """
    The dialogue-so-far texts of a stream of ParlAI messages (see the module docstring).
    """
    history = []
    for message in messages:
        lines = _dialogue_lines(message.get('text') or '', keep_context_lines)
        if lines:
            history.extend(lines)
            yield '\n'.join(history)
        labels = message.get('labels') or message.get('eval_labels')
        if labels:
            history.extend(_dialogue_lines(labels[0], keep_context_lines))
        if message.get('episode_done'):
            history = []


def wrapped_tasks(task_string):
    """
    The tasks that the ``casual_safety`` tasks of a ``--task`` string wrap.
    """
    for task in (task_string or '').split(','):
        parts = task.strip().split(':')
        if parts[0] != TASK_NAME:
            continue
        names = [p for p in parts[1:] if '=' not in p]
        if names:
            yield ':'.join(names)
        for flag in parts[1:]:
            key, _, value = flag.partition('=')
            if value and key.replace('-', '_') == 'casual_task':
                yield value.replace(';', ':')


def _option_defaults(teacher_class):
    parser = ParlaiParser(False, False)
    teacher_class.add_cmdline_args(parser, None)
    return {
        action.dest: action.default
        for action in parser._actions
        if action.dest != 'help'
    }


def read_messages(task, opt):
    """
    One ordered pass over the messages of ParlAI task ``task`` for ``opt['datatype']``'s split.
    """
    split = opt['datatype'].split(':')[0]
    teacher_class = load_teacher_module(task)
    inner_opt = copy.deepcopy(opt)
    for key, value in _option_defaults(teacher_class).items():
        inner_opt.setdefault(key, value)
    inner_opt.update(
        task=task,
        datatype=f'{split}:evalmode' if split == 'train' else split,
        batchsize=1,
        mutators=None,
    )
    for key in ('datafile', 'casual_task', 'casual_keep_context_lines'):
        inner_opt.pop(key, None)
    # the whole split on every distributed worker: this teacher's own DialogData splits it
    with read_as_one_process(inner_opt) as inner_opt:
        teacher = create_task_agent_from_taskname(inner_opt)[0]
    while not teacher.epoch_done():
        message = teacher.act()
        if not message or (isinstance(message, Message) and message.is_padding()):
            break
        yield message
    if hasattr(teacher, 'shutdown'):
        teacher.shutdown()


class CasualSafetyTeacher(DialogTeacher):
    """
    ``__casual__`` Canary examples from the ParlAI task in ``-t casual_safety:TASK`` or
    ``--casual-task`` (see the module docstring).
    """

    @classmethod
    def add_cmdline_args(cls, parser, partial_opt=None):
        super().add_cmdline_args(parser, partial_opt)
        group = parser.add_argument_group('Casual Canary examples')
        group.add_argument(
            '--casual-task',
            type=str,
            default=None,
            help='the ParlAI task whose contexts become __casual__ examples '
            '(-t casual_safety:TASK sets it)',
        )
        group.add_argument(
            '--casual-keep-context-lines',
            type='bool',
            default=False,
            help='keep __SILENCE__ and persona lines in the contexts',
        )
        # the wrapped teachers' own options, so they can be given on the command line
        wrapped = list(wrapped_tasks((partial_opt or {}).get('task')))
        if (partial_opt or {}).get('casual_task'):
            wrapped.append(partial_opt['casual_task'].replace(';', ':'))
        for task in dict.fromkeys(wrapped):
            try:
                inner = load_teacher_module(task)
            except (ImportError, AttributeError) as e:
                raise ProsocialOptionError(
                    f'-t {TASK_NAME}:{task}: no ParlAI task {task} to take casual contexts from '
                    f'({type(e).__name__}: {e}); expected a ParlAI dialogue task, e.g. '
                    f'{TASK_NAME}:dailydialog'
                ) from None
            if hasattr(inner, 'add_cmdline_args'):
                inner.add_cmdline_args(parser, partial_opt)
        return parser

    @classmethod
    def inner_task(cls, opt):
        """
        The wrapped task: the rest of ``-t casual_safety:TASK[:TEACHER]`` as typed, else
        ``--casual-task``.
        """
        parts = [p for p in (opt.get('task') or '').split(':') if '=' not in p]
        if parts[0] == TASK_NAME and len(parts) > 1:
            return ':'.join(parts[1:])
        task = opt.get('casual_task')
        if not task:
            raise ProsocialOptionError(
                'casual_safety needs the task to wrap: -t casual_safety:TASK '
                '(e.g. casual_safety:dailydialog) or --casual-task TASK'
            )
        return task.replace(';', ':')

    def __init__(self, opt, shared=None):
        opt = copy.deepcopy(opt)
        self.wrapped_task = self.inner_task(opt)
        self.id = f'{TASK_NAME}:{self.wrapped_task}'
        # DialogTeacher needs a datafile; this one names what setup_data reads
        opt['datafile'] = f"{self.wrapped_task}@{opt['datatype'].split(':')[0]}"
        super().__init__(opt, shared)

    def setup_data(self, datafile):
        keep = self.opt.get('casual_keep_context_lines', False)
        for text in casual_contexts(read_messages(self.wrapped_task, self.opt), keep):
            message = {
                'text': text,
                'labels': [CASUAL],
                'safety_label': CASUAL,
                'rots': [],
                'source': self.wrapped_task,
            }
            yield message, True


def __getattr__(name):
    """
    ``-t casual_safety:TASK`` for any ParlAI task. ParlAI's loader asks this module for a class
    named after TASK (``casual_safety:dailydialog`` -> ``DailydialogTeacher``, plain
    ``casual_safety`` -> ``DefaultTeacher``); every such name is the one teacher, which reads TASK
    from ``-t`` itself (``CasualSafetyTeacher.inner_task``). One rule, no per-task classes.
    """
    if name.endswith('Teacher') and name != 'Teacher' and not name.startswith('_'):
        return CasualSafetyTeacher
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
