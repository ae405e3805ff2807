"""
``python -m parlai_prosocial``: every name the plugin adds to ParlAI, each with one line saying
what it is.

Generated from the code, so it cannot drift from it: the tasks, agents and zoo entries are
``our_names.ALIASES`` loaded through ParlAI's own loaders (a name listed here is a name
``parlai`` resolves), described by the first sentence of their docstrings; the teachers are the
public teacher classes of each task's ``agents`` module (named as ParlAI names them); the
presets are the ``.opt`` files of ``opt_presets/prosocial/``, described by what they set (a
preset is JSON, with no room for prose: its model, task, size and bound are its summary).
"""

import importlib
import inspect
import json
import os
import re
import sys

from parlai_prosocial.our_names import aliased

_RST_ROLE = re.compile(r':[a-z]+:`~?\.?([^`]+)`')
_SENTENCE_END = re.compile(r'[.!?]\s+(?=[A-Z(`])')
#: words ending in a full stop that do not end a sentence (the papers' "App. B.1", "et al. 2022")
_ABBREVIATIONS = ('App.', 'al.', 'e.g.', 'i.e.', 'cf.', 'Fig.', 'Sec.', 'vs.', 'Eq.')


def summary(doc):
    """
    The first sentence of a docstring's first paragraph, on one line, reST markup made plain.
    """
    paragraph = (doc or '').strip().split('\n\n')[0]
    text = ' '.join(paragraph.split())
    text = _RST_ROLE.sub(r'`\1`', text).replace('``', '`')
    for end in _SENTENCE_END.finditer(text):
        if not text[: end.start() + 1].endswith(_ABBREVIATIONS):
            return text[: end.start() + 1]
    return text


def _snake(camel):
    return re.sub(r'(?<!^)(?=[A-Z])', '_', camel).lower()


def teachers(task):
    """
    ``[(name for -t, description)]`` of a task's public teachers, the task's default first.
    """
    from parlai.core.teachers import Teacher

    module = importlib.import_module(f'parlai.tasks.{task}.agents')
    default = vars(module).get('DefaultTeacher')
    rows = []
    for class_name, cls in vars(module).items():
        if not (
            inspect.isclass(cls)
            and issubclass(cls, Teacher)
            and class_name.endswith('Teacher')
            and not class_name.startswith('_')
            and cls.__module__ == module.__name__
            and cls is not default
        ):
            continue
        answers = getattr(module, '__getattr__', None)  # (ours only says a name is no teacher)
        if answers is not None and not getattr(answers, 'only_unknown_teachers', False):
            # the module answers any teacher name with this teacher (casual_safety:TASK)
            name = f'{task}:TASK'
        elif _snake(class_name[: -len('Teacher')]) == task:
            name = task  # the task's own teacher (SodaTeacher of soda), also its default
        else:
            name = f'{task}:{_snake(class_name[: -len("Teacher")])}'
        description = summary(inspect.getdoc(cls))
        if default is not None and (default is cls or cls in default.__bases__):
            if name != task:
                description += f' (the default: -t {task})'
        rows.append((name, description))
    return rows


def agents():
    """
    ``[(name for -m, description)]``: the agents of ``ALIASES``, then the public agents that
    tasks define (named ``module:Class``, as ParlAI takes them).
    """
    from parlai.core.agents import Agent
    from parlai.core.loader import load_agent_module
    from parlai.core.teachers import Teacher

    rows = []
    for name in aliased('agents'):
        agent = load_agent_module(name)
        package = importlib.import_module(f'parlai.agents.{name}')
        rows.append((name, summary(package.__doc__) or summary(inspect.getdoc(agent))))
    for task in aliased('tasks'):
        module = importlib.import_module(f'parlai.tasks.{task}.agents')
        for class_name, cls in vars(module).items():
            if (
                inspect.isclass(cls)
                and issubclass(cls, Agent)
                and not issubclass(cls, Teacher)
                and not class_name.startswith('_')
                and cls.__module__ == module.__name__
            ):
                rows.append((f'parlai.tasks.{task}.agents:{class_name}', summary(cls.__doc__)))
    return rows


def zoo_entries():
    """
    ``[(zoo path for -mf, description)]``: the ``zoo:NAME/FILE`` each zoo package's docstring
    names, resolved as ParlAI does (``parlai.zoo.NAME.build``, which must have ``download``).
    """
    rows = []
    for name in aliased('zoo'):
        package = importlib.import_module(f'parlai.zoo.{name}')
        build = importlib.import_module(f'parlai.zoo.{name}.build')
        assert callable(build.download), name
        for entry in sorted(set(re.findall(rf'zoo:{name}/\w+', package.__doc__ or ''))):
            rows.append((entry, summary(package.__doc__)))
    return rows


def presets_dir():
    from parlai_prosocial.presets import OUR_PRESETS, our_opt_presets_dir

    return os.path.join(our_opt_presets_dir(), OUR_PRESETS)


def describe_preset(opt):
    """
    One line from a preset's options: the model and its size, the task, how long it trains.
    """
    if 'model' not in opt and 'task' not in opt:
        return 'sets ' + ', '.join(f'{key} {json.dumps(value)}' for key, value in opt.items())
    parts = []
    model = opt.get('model', 'the model of -m')
    size = opt.get('t5_model_arch') or opt.get('init_model')
    if not size and 'embedding_size' in opt:
        layers = opt.get('n_layers') or (
            f"{opt.get('n_encoder_layers')}+{opt.get('n_decoder_layers')}"
        )
        size = f"{layers} layer{'' if layers == 1 else 's'}, {opt['embedding_size']}-dim"
    parts.append(f'{model} ({size})' if size else model)
    if opt.get('canary_pretrained_on'):  # stage 2: which stage-1 model it starts from
        parts.append(f"pre-trained on {opt['canary_pretrained_on']},")
    if 'task' in opt:
        weights = opt.get('multitask_weights')
        mixed = f' weighted {weights}' if isinstance(weights, list) else (
            f' weighted {weights}' if weights else ''
        )
        parts.append(f"on {opt['task']}{mixed}")
    else:
        parts.append('on the task of -t')
    bounds = []
    if opt.get('max_train_steps', -1) > 0:
        bounds.append(f"{opt['max_train_steps']} steps")
    if opt.get('num_epochs', -1) > 0:
        bounds.append(f"{opt['num_epochs']} epochs")
    if bounds:
        parts.append('for ' + ' or '.join(bounds))
    line = ' '.join(parts)
    for unit in ('epochs', 'steps'):
        every = opt.get(f'validation_every_n_{unit}', -1)
        if every and every > 0:
            every = unit[:-1] if every == 1 else f'{every} {unit}'
            line += f', validated every {every} ({opt.get("validation_metric", "loss")})'
    return line


def presets():
    """
    ``[(name for -o, description)]`` of every preset, by name.
    """
    from parlai_prosocial.presets import our_opt_presets_dir, our_preset_names

    rows = []
    for name in our_preset_names():
        with open(os.path.join(our_opt_presets_dir(), name + '.opt'), encoding='utf-8') as f:
            rows.append((name, describe_preset(json.load(f))))
    return rows


def listing():
    """
    ``[(section title, [(name, description)])]``: everything the plugin adds.
    """
    task_rows = []
    for task in aliased('tasks'):
        module = importlib.import_module(f'parlai.tasks.{task}.agents')
        task_rows.append((task, summary(module.__doc__)))
        task_rows.extend(('  ' + name, text) for name, text in teachers(task) if name != task)
    return [
        ('Tasks and their teachers (-t)', task_rows),
        ('Agents (-m)', agents()),
        ('Presets (-o)', presets()),
        ('Model zoo (-mf)', zoo_entries()),
    ]


def matches(name, wanted):
    """
    Whether the listed ``name`` is one that ``wanted`` (a name given to the command) asks for: the
    name itself, a task's teachers (``prosocial`` -> ``prosocial:safety``), a preset or zoo entry by
    its short name (``tiny_prost``, ``prost``).
    """
    return (
        name == wanted
        or name.startswith(wanted + ':')
        or name == f'prosocial/{wanted}'
        or name.startswith(f'zoo:{wanted}/')
    )


def main(out=None, argv=None):
    from parlai_prosocial import __version__
    from parlai_prosocial.command_line import OneLineArgumentParser

    parser = OneLineArgumentParser(
        prog='python -m parlai_prosocial',
        description="Every name the plugin adds to ParlAI's `parlai`, one line each.",
    )
    parser.add_argument('names', nargs='*', metavar='NAME',
                        help='only these (a task with its teachers, an agent, a preset, a zoo '
                        'entry), e.g. prosocial, canary, tiny_prost')
    args = parser.parse_args(argv or [])
    out = out or sys.stdout
    sections = listing()
    if args.names:
        unknown = [w for w in args.names
                   if not any(matches(n.strip(), w) for _, rows in sections for n, _ in rows)]
        if unknown:
            parser.error(f'no such name: {", ".join(unknown)} (without a NAME it lists them all)')
        sections = [(title, [(n, d) for n, d in rows
                             if any(matches(n.strip(), w) for w in args.names)])
                    for title, rows in sections]
        sections = [(title, rows) for title, rows in sections if rows]
    width = max(len(name) for _, rows in sections for name, _ in rows) + 2
    print(f"parlai-prosocial {__version__}: the names it adds to ParlAI's `parlai`", file=out)
    for title, rows in sections:
        print(f'\n{title}', file=out)
        for name, description in rows:
            print(f'  {name.ljust(width)}{description}', file=out)
    print('\nOptions of each: parlai display_data -t NAME --help, parlai train_model -m NAME '
          '--help; docs/names.md', file=out)


if __name__ == '__main__':
    main(argv=sys.argv[1:])
