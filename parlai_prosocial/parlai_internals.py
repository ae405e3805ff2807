"""
The ParlAI code this plugin depends on, checked against ParlAI 1.7.2 (the last release; the
repository is archived) by the hash of its source.

* What the fixes replace: each :class:`parlai_prosocial.parlai_fixes.Fix` records its targets.
* What our classes override: derived from the classes, not listed by hand.
  :func:`overrides_of_our_classes` walks every class of the plugin that subclasses a ParlAI class
  (or is mixed into one: ``mixed_into``) and finds each method it defines that a ParlAI class
  above it defines too; their 1.7.2 hashes are the generated table
  :data:`parlai_prosocial.parlai_overridden.OVERRIDDEN` (``python -m
  parlai_prosocial.parlai_internals --write`` writes it; ``tests/test_parlai_fixes.py`` fails
  when an override has no recorded hash, or a recorded one is no override any more).
* :data:`RELIED_ON`: what cannot be derived: ParlAI code that our code copies or whose private
  attributes it reads, each with the module of ours that does it.

At run time, once a run of ours is parsed (the fix ``options_of_our_runs``), the entries of every
module of ours loaded by then are checked (:func:`check_loaded_overrides`): one warning line per
piece of ParlAI code that is no longer 1.7.2's.

Hashes are of the source text of the function or class as written in ParlAI's file (read with
``ast``, so a fix already applied in this process does not change them): the first 16 hex digits
of its sha256. Nothing here imports ParlAI itself.
"""

import ast
import functools
import hashlib
import importlib
import importlib.util
import inspect
import re
import sys

PARLAI_VERSION = '1.7.2'

#: ParlAI code ('module:Qual.name') that our code copies or reads the internals of (not derived:
#: an override is found in :data:`~parlai_prosocial.parlai_overridden.OVERRIDDEN`) ->
#: (source hash, the module of ours that relies on it, how)
RELIED_ON = {
    'parlai.core.teachers:DialogData.__init__': (
        '69935e2bedff28cd', 'parlai_prosocial.tasks.prosocial.agents',
        'ResponseTeacher splits evaluation between distributed workers on the datatypes '
        'DialogData splits (this_workers_share)',
    ),
    'parlai.core.teachers:DialogData._load': (
        '76e1f80ae705b18e', 'parlai_prosocial.tasks.prosocial.agents',
        'this_workers_share gives worker r the episodes i with i mod n = r, as DialogData._load '
        'keeps them',
    ),
    'parlai.core.teachers:DialogData.get': (
        'dc2c87c33f71b38c', 'parlai_prosocial.tasks.prosocial.agents',
        "ResponseTeacher.get builds the message DialogData.get would (the entry's fields, "
        "episode_done on an episode's last entry)",
    ),
    'parlai.core.metrics:Metrics.__init__': (
        '82461705caa5d71c', 'parlai_prosocial.tasks.prosocial.agents',
        'reads Metrics._metrics_list to report rot_bleu-k only when asked',
    ),
    'parlai.agents.hugging_face.t5:T5Agent.add_cmdline_args': (
        'ebf8796dad2718b2', 'parlai_prosocial.agents.canary.agents',
        "edits the --t5-model-arch action through argparse's _option_string_actions to accept a "
        'local directory',
    ),
    'parlai.scripts.eval_model:_eval_single_world': (
        'ec66b87e3a3164d9', 'parlai_prosocial.report.script',
        "the report's passes copy eval_model's loop over a world",
    ),
    'parlai.core.torch_generator_agent:TorchGeneratorAgent.compute_loss': (
        '616d00d4f635cc47', 'parlai_prosocial.exact_workers',
        'normalise_over_the_update: a generator\'s loss is the mean over the batch\'s target '
        'tokens (label_vec != NULL_IDX)',
    ),
    'parlai.core.torch_classifier_agent:TorchClassifierAgent.train_step': (
        '86c49c76cc6f16a3', 'parlai_prosocial.exact_workers',
        'normalise_over_the_update: a classifier\'s loss is the mean over the batch\'s examples',
    ),
    'parlai.core.torch_agent:TorchAgent.backward': (
        'c83d29a6128db53b', 'parlai_prosocial.exact_workers',
        'normalise_over_the_update: backward divides by --update-freq and counts the micro-batch '
        '(_number_grad_accum)',
    ),
    'parlai.core.torch_agent:TorchAgent.update_params': (
        'a8bed251c7cc2c69', 'parlai_prosocial.exact_workers',
        'normalise_over_the_update: an update is when _number_grad_accum is 0; gradients are '
        'scaled before its clipping and step',
    ),
    'parlai.core.worlds:MultiWorld.parley_init': (
        'ecc20362dc798fdd', 'parlai_prosocial.global_batch_world',
        'GlobalBatchWorld draws each slot\'s task through it, before the teachers act',
    ),
    'parlai.core.worlds:World.update_counters': (
        'd1c2529ae80447e2', 'parlai_prosocial.global_batch_world',
        'epochs are counted from the world\'s opt batchsize, the worker\'s G/N',
    ),
    'parlai.core.torch_agent:TorchAgent.__init__': (
        '157e35e2987277f7', 'parlai_prosocial.export.blenderbot',
        'parlai_dictionary pads the dictionary for --fp16 as TorchAgent.__init__ does, on an '
        'agent built without its __init__',
    ),
    'parlai.core.torch_agent:TorchAgent.build_dictionary': (
        'b4bc04ca78d2691b', 'parlai_prosocial.export.blenderbot',
        'parlai_dictionary calls build_dictionary on an agent that has only its opt',
    ),
    'parlai.core.teachers:FixedDialogTeacher.next_example': (
        '39a148ab832b47c3', 'parlai_prosocial.exact_workers',
        'sharded_next_episode_idx: the end-of-epoch test episode_idx + batchsize >= '
        'num_episodes() is met later, never earlier, on a sharded index',
    ),
}


@functools.lru_cache(maxsize=None)
def _module_text(module_name):
    spec = importlib.util.find_spec(module_name)
    if spec is None or not spec.origin or not spec.origin.endswith('.py'):
        return None
    with open(spec.origin, encoding='utf-8') as f:
        return f.read()


@functools.lru_cache(maxsize=None)
def _parsed_module(module_name):
    return ast.parse(_module_text(module_name))


def _top_level_block(text, name):
    """
    The text of the top-level ``class``/``def`` ``name`` of a module, from its keyword to the next
    line that starts at column 0, or None. Parsing that block alone is much cheaper than parsing
    the whole module (ParlAI's ``teachers.py`` is 2,700 lines) and gives the same source text; a
    block cut inside a string that has a line at column 0 does not parse, and then the whole
    module is parsed.
    """
    match = re.search(rf'^(?:async def|def|class) {re.escape(name)}\b', text, re.M)
    if match is None:
        return None
    line_end = text.find('\n', match.start())
    end = re.compile(r'^\S', re.M).search(text, line_end + 1) if line_end >= 0 else None
    return text[match.start() : end.start() if end else len(text)]


@functools.lru_cache(maxsize=None)
def _parsed_block(module_name, name):
    """
    ``(text, tree)`` of the top-level definition ``name`` of a module (parsed once for all the
    methods of a class), None if there is none or it does not parse alone.
    """
    block = _top_level_block(_module_text(module_name), name)
    if block is None:
        return None
    try:
        return block, ast.parse(block)
    except SyntaxError:
        return None  # a block cut inside a string: the whole module is parsed instead


def _definition(text, tree, path):
    """
    The source text of ``path`` (``Class.method``) in the parsed ``text``, None if absent.
    """
    definitions = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    node = tree
    for part in path.split('.'):
        # the first definition of the name: a property's getter comes before its setter
        node = next(
            (n for n in node.body if isinstance(n, definitions) and n.name == part), None
        )
        if node is None:
            return None
    return _source_segment(text, node)


@functools.lru_cache(maxsize=None)
def _lines(text):
    # as ast.get_source_segment splits them (not at form feeds), each with its end
    return re.findall(r'[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$', text)


def _source_segment(text, node):
    """
    ``ast.get_source_segment(text, node)``, with the lines of ``text`` split once for all its
    nodes (``get_source_segment`` splits the whole text at every call).
    """
    lines = _lines(text)
    first, last = node.lineno - 1, node.end_lineno - 1
    start, end = node.col_offset, node.end_col_offset  # (UTF-8 byte offsets)
    if first == last:
        return lines[first].encode()[start:end].decode()
    return ''.join([lines[first].encode()[start:].decode()] + lines[first + 1 : last]
                   + [lines[last].encode()[:end].decode()])


@functools.lru_cache(maxsize=None)
def source_hash(qualified_name):
    """
    The hash of ``'module:Class.function'`` as written in the installed ParlAI, None if absent.
    """
    module_name, _, path = qualified_name.partition(':')
    text = _module_text(module_name)
    if text is None:
        return None
    source = None
    block = _parsed_block(module_name, path.split('.')[0])
    if block is not None:
        source = _definition(*block, path)
    if source is None:
        source = _definition(text, _parsed_module(module_name), path)
    if source is None:
        return None
    return hashlib.sha256(source.encode('utf-8')).hexdigest()[:16]


_warned = set()


def warn_once(message):
    if message not in _warned:
        _warned.add(message)
        sys.stderr.write(f'parlai-prosocial: warning: {message}\n')


def _changed(name, expected, who):
    if source_hash(name) != expected:
        warn_once(
            f'{name} is no longer the ParlAI {PARLAI_VERSION} code that {who}; results may differ'
        )


def check_relied_on(*qualified_names):
    """
    Warn once per name if ParlAI code that our code relies on (:data:`RELIED_ON`) or overrides
    is not ParlAI 1.7.2's any more.
    """
    from parlai_prosocial.parlai_overridden import OVERRIDDEN

    for name in qualified_names:
        if name in RELIED_ON:
            expected, module, how = RELIED_ON[name]
            _changed(name, expected, f'{module} relies on ({how})')
            continue
        for module, overridden in OVERRIDDEN.items():
            if name in overridden:
                _changed(name, overridden[name], f'{module} overrides')


_checked_modules = set()


def check_loaded_overrides():
    """
    Check, once per module, the ParlAI code that every module of ours loaded by now overrides
    (:data:`~parlai_prosocial.parlai_overridden.OVERRIDDEN`) or relies on (:data:`RELIED_ON`).
    """
    from parlai_prosocial.parlai_overridden import OVERRIDDEN

    for module in set(OVERRIDDEN) - _checked_modules:
        if module in sys.modules:
            _checked_modules.add(module)
            for name, expected in OVERRIDDEN[module].items():
                _changed(name, expected, f'{module} overrides')
    for name, (expected, module, how) in RELIED_ON.items():
        if module in sys.modules and name not in _checked_modules:
            _checked_modules.add(name)
            _changed(name, expected, f'{module} relies on ({how})')


# --- deriving what our classes override ------------------------------------------------------


def _is_parlai(cls):
    return cls.__module__ == 'parlai' or cls.__module__.startswith('parlai.')


def our_modules():
    """
    Every module of the plugin that holds code (the package, its tasks and zoo entries), imported;
    not the tests nor ``__main__`` scripts.
    """
    import pkgutil

    names = set()
    for root in ('parlai_prosocial', 'parlai_prosocial.tasks', 'parlai_prosocial.zoo'):
        package = importlib.import_module(root)
        for info in pkgutil.walk_packages(package.__path__, root + '.'):
            if info.name.rsplit('.', 1)[-1] not in ('test', '__main__'):
                names.add(info.name)
    return [importlib.import_module(name) for name in sorted(names)]


def _parlai_definers(cls, attribute):
    """
    The ParlAI classes whose definition of ``attribute`` ``cls`` overrides: the first one above it
    in its MRO; for a mixin (``mixed_into``: ParlAI classes), each of those and each of their
    subclasses in the same ParlAI module that defines it.
    """
    for base in cls.__mro__[1:]:
        if _is_parlai(base) and attribute in vars(base):
            return [base]
    definers = []
    for partner in getattr(cls, 'mixed_into', ()):
        family = [partner] + [
            sub for sub in _all_subclasses(partner) if sub.__module__ == partner.__module__
        ]
        definers.extend(c for c in family if attribute in vars(c))
    return definers


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def overrides_of_our_classes():
    """
    ``{our module: {ParlAI code ('module:Qual.name'): its hash in the installed ParlAI}}``: every
    method (function, property, class or static method) that a class of ours defines and that a
    ParlAI class it derives from, or is mixed into, defines too.
    """
    found = {}
    for module in our_modules():
        for cls in vars(module).values():
            if not inspect.isclass(cls) or cls.__module__ != module.__name__:
                continue
            for attribute, value in vars(cls).items():
                if not (inspect.isfunction(value) or isinstance(
                        value, (classmethod, staticmethod, property))):
                    continue
                for definer in _parlai_definers(cls, attribute):
                    name = f'{definer.__module__}:{definer.__qualname__}.{attribute}'
                    found.setdefault(module.__name__, {})[name] = source_hash(name)
    return {module: dict(sorted(names.items())) for module, names in sorted(found.items())}


def write_overridden(path=None):
    """
    Write :func:`overrides_of_our_classes` as ``parlai_prosocial/parlai_overridden.py``.
    """
    import os

    path = path or os.path.join(os.path.dirname(__file__), 'parlai_overridden.py')
    lines = []
    for module, overridden in overrides_of_our_classes().items():
        lines.append(f'    {module!r}: {{')
        lines.extend(f'        {name!r}: {value!r},' for name, value in overridden.items())
        lines.append('    },')
    table = '{\n' + '\n'.join(lines) + '\n}'
    with open(path, 'w', encoding='utf-8') as f:
        f.write(
            '"""\nGenerated by ``python -m parlai_prosocial.parlai_internals --write`` (do not '
            'edit): the ParlAI\ncode that the classes of each module of ours override, with its '
            f'hash in ParlAI {PARLAI_VERSION}\n(:mod:`parlai_prosocial.parlai_internals`).\n"""'
            f'\n\nOVERRIDDEN = {table}\n'
        )
    return path


if __name__ == '__main__':
    if sys.argv[1:] == ['--write']:
        print(write_overridden())
    else:  # their hashes in the installed ParlAI (a fix's: python -m parlai_prosocial.parlai_fixes)
        for module, overridden in overrides_of_our_classes().items():
            for name, value in overridden.items():
                print(f'overridden by {module}: {name} {value}')
        for name in RELIED_ON:
            print(f'relied on: {name} {source_hash(name)}')
