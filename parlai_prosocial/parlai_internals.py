"""
The ParlAI code this plugin replaces or relies on, in one place, each with the hash of its source
in ParlAI 1.7.2 (the last release; the repository is archived).

* ``REPLACED``: what each fix in :mod:`parlai_prosocial.parlai_fixes` replaces. Before a fix is
  applied (``plugin_hook``, right after ParlAI imports the module), :func:`apply_fix` checks that
  the code is still the 1.7.2 code; if not, the fix is skipped with one warning line naming it,
  instead of silently diverging from or breaking a changed ParlAI. A fix in ``FAIL_CLOSED`` guards
  security: it stops with an error instead of skipping.
* ``RELIED_ON``: ParlAI internals that our code overrides or reads without replacing them
  (private attributes, methods whose behaviour a subclass re-implements); the code that relies on
  one calls :func:`check_relied_on` with its name, which warns once if it changed.

Hashes are of the source text of the function or class as written in ParlAI's file (read with
``ast``, so a fix already applied in this process does not change them): the first 16 hex digits
of its sha256. ``python -m parlai_prosocial.parlai_internals`` prints them for the installed
ParlAI. Nothing here imports ParlAI itself.
"""

import ast
import functools
import hashlib
import importlib
import importlib.util
import re
import sys

PARLAI_VERSION = '1.7.2'

#: fix (a function of parlai_fixes) -> {ParlAI code it replaces ('module:Qual.name'): source hash}
REPLACED = {
    'find_our_opt_presets': {'parlai.core.opt:Opt.load_init': '9ccea692c01b06ac'},
    'cut_option_files_of_ours': {'parlai.core.opt:Opt.load': '2bd2c6e6931655ed'},
    'unknown_teachers_of_our_tasks': {
        'parlai.core.loader:load_teacher_module': '4d6afe14bd14ff62',
    },
    'missing_model_files_of_ours': {'parlai.core.agents:create_agent': '4d4fb1dbafd83fed'},
    'base_models_of_our_presets': {
        'parlai.scripts.train_model:TrainLoop.__init__': '9661bbeb94299902',
    },
    'reduce_on_plateau_without_verbose': {
        'parlai.nn.lr_scheduler:ReduceOnPlateauLRScheduler.__init__': '03b86289e61ca5dd',
    },
    'distributed_on_cpu': {
        'parlai.utils.distributed:distributed_context': 'e8e7961cc3abfdfc',
        'parlai.utils.distributed:all_gather_list': 'f23e9d55d48811ef',
    },
    'join_on_cpu': {
        'parlai.utils.fsdp:JoinableTrainLoop.join_device': '03ff28d5ec7aa516',
        'parlai.utils.fsdp:JoinableEvaluator.join_device': '03ff28d5ec7aa516',
    },
    'build_dict_before_spawning': {
        'parlai.scripts.multiprocessing_train:launch_and_train': 'd8ec8a4dc6389f5e',
    },
    'seed_before_building_the_agent': {
        'parlai.scripts.train_model:set_seed': '9a7a743cb4661157',
        'parlai.scripts.train_model:TrainLoop.__init__': '9661bbeb94299902',
    },
    'seed_evaluation': {'parlai.scripts.eval_model:eval_model': '6b3c7de770e25a06'},
    'safe_checkpoint_loading': {'parlai.core.torch_agent:TorchAgent.load': 'b1f28e83aababb8e'},
    'safe_opt_loading': {'parlai.core.opt:Opt.load': '2bd2c6e6931655ed'},
    'safe_vacuum_loading': {'parlai.scripts.vacuum:Vacuum.run': '9ae0508b61cfa317'},
    'check_options_after_parsing': {
        'parlai.core.params:ParlaiParser.parse_args': 'dbbb011de57c09a0',
    },
    'underscores_in_option_names_only': {
        'parlai.core.params:fix_underscores': 'dd28ee41e30b3182',
    },
    'dictionary_without_multitask_weights': {
        'parlai.scripts.build_dict:build_dict': 'bc0e8e148e0952b0',
    },
    'final_reports_to_tensorboard': {
        'parlai.scripts.train_model:TrainLoop.train': '179fae0ae6302467',
    },
    # not replaced: what makes the tokenizer's length message noise (it tokenizes whole texts)
    'quiet_hugging_face_noise': {
        'parlai.agents.hugging_face.dict:HuggingFaceDictionaryAgent.txt2vec': '3c0384b479320777',
    },
    'global_batch': {
        'parlai.scripts.train_model:setup_args': 'ad6f2f1709848693',
        'parlai.scripts.train_model:TrainLoop.__init__': '9661bbeb94299902',
    },
}

#: fixes that guard security: a changed target stops the program instead of skipping the fix
FAIL_CLOSED = {'safe_checkpoint_loading', 'safe_opt_loading', 'safe_vacuum_loading'}

#: ParlAI internal ('module:Qual.name') -> (source hash, who relies on it and how)
RELIED_ON = {
    'parlai.core.teachers:ChunkTeacher._process_data': (
        '3e003a8becc49aed',
        'tasks/soda/agents.py: SodaTeacher._process_data re-implements it (and its queue protocol)',
    ),
    'parlai.core.teachers:DialogData.__init__': (
        '69935e2bedff28cd',
        'tasks/prosocial: ResponseTeacher splits evaluation between distributed workers on the '
        'datatypes DialogData splits (this_workers_share)',
    ),
    'parlai.core.teachers:DialogData._load': (
        '76e1f80ae705b18e',
        'tasks/prosocial: this_workers_share gives worker r the episodes i with i mod n = r, '
        'as DialogData._load keeps them',
    ),
    'parlai.core.teachers:DialogData.get': (
        'dc2c87c33f71b38c',
        "tasks/prosocial: ResponseTeacher.get builds the message DialogData.get would (the "
        "entry's fields, episode_done on an episode's last entry)",
    ),
    'parlai.agents.hugging_face.t5:ParlaiT5Model.__init__': (
        '6fc0cf47ea3e8347',
        'agents/canary: CanaryT5Model.__init__ re-implements it to build T5 from a config',
    ),
    'parlai.agents.hugging_face.t5:T5Agent.add_cmdline_args': (
        'ebf8796dad2718b2',
        "agents/canary: edits the --t5-model-arch action through argparse's "
        '_option_string_actions to accept a local directory',
    ),
    'parlai.core.metrics:Metrics.__init__': (
        '82461705caa5d71c',
        "tasks/prosocial: reads Metrics._metrics_list to report rot_bleu-k only when asked",
    ),
    'parlai.agents.hugging_face.t5:T5Agent._generate': (
        'bbea0a56fc97f0f5',
        'agents/cosmo: CosmoAgent._generate passes HF generate arguments (do_sample, top_p, '
        'top_k, max_new_tokens) as its overrides',
    ),
    'parlai.core.torch_agent:TorchAgent._set_text_vec': (
        '1c0056f35562ba21',
        'agents/cosmo: CosmoAgent sets full_text and text_vec before calling it, leaving it the '
        'truncation only',
    ),
    'parlai.core.torch_agent:History.update_history': (
        '7ea7ef9c31eb97d3',
        'agents/cosmo: CosmoHistory extends it and reads history_raw_strings as the turns',
    ),
    'parlai.agents.hugging_face.dict:HuggingFaceDictionaryAgent.txt2vec': (
        '3c0384b479320777',
        'agents/cosmo: CosmoDictionaryAgent re-implements it without the 512-token cut',
    ),
}


class ParlAICodeChanged(RuntimeError):
    """
    A security fix cannot be applied because the ParlAI code it replaces has changed.
    """


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
    return ast.get_source_segment(text, node)


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
    block = _top_level_block(text, path.split('.')[0])
    if block is not None:
        try:
            source = _definition(block, ast.parse(block), path)
        except SyntaxError:
            pass  # a block cut inside a string: the whole module below
    if source is None:
        source = _definition(text, _parsed_module(module_name), path)
    if source is None:
        return None
    return hashlib.sha256(source.encode('utf-8')).hexdigest()[:16]


_warned = set()


def _warn_once(message):
    if message not in _warned:
        _warned.add(message)
        sys.stderr.write(f'parlai-prosocial: warning: {message}\n')


def stale_targets(fix_name):
    return [name for name, expected in REPLACED[fix_name].items() if source_hash(name) != expected]


def apply_fix(fix_name, module):
    """
    Apply ``parlai_fixes.<fix_name>`` to the just-imported ``module`` if the code it replaces is
    still ParlAI 1.7.2's; else skip it with one warning line, or stop for a security fix.
    Returns whether the fix was applied.
    """
    stale = stale_targets(fix_name)
    if stale:
        message = (
            f'fix {fix_name} not applied: {", ".join(stale)} is no longer the ParlAI '
            f'{PARLAI_VERSION} code it replaces'
        )
        if fix_name in FAIL_CLOSED:
            raise ParlAICodeChanged(f'parlai-prosocial: {message}; refusing to run without it')
        _warn_once(message)
        return False
    from parlai_prosocial import parlai_fixes

    getattr(parlai_fixes, fix_name)(module)
    return True


def check_relied_on(*qualified_names):
    """
    Warn once per name if a ParlAI internal that our code relies on is not ParlAI 1.7.2's any more.
    """
    for name in qualified_names:
        expected, who = RELIED_ON[name]
        if source_hash(name) != expected:
            _warn_once(
                f'{name} is no longer the ParlAI {PARLAI_VERSION} code that {who}; results may '
                'differ'
            )


if __name__ == '__main__':
    for fix_name, targets in REPLACED.items():
        for name in targets:
            print(f'{fix_name}: {name} {source_hash(name)}')
    for name in RELIED_ON:
        print(f'relied on: {name} {source_hash(name)}')
