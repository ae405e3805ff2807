"""
The project's shape (issue 17): the core never imports what is built on it, and every name the
README's table lists resolves through ParlAI's own loaders.
"""

import ast
import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORE = os.path.join(REPO, 'parlai_prosocial')

#: what is built on the core: the top-level folders and their installed names
ABOVE_THE_CORE = ('tasks', 'zoo', 'projects', 'benchmarks', 'opt_presets')


def imported_modules(path):
    tree = ast.parse(open(path, encoding='utf-8').read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module
            yield from (f'{node.module}.{alias.name}' for alias in node.names)


def test_the_core_never_imports_what_is_built_on_it():
    # parlai_prosocial/testing/ may: it builds teachers for tests
    wrong = []
    for root, _dirs, files in os.walk(CORE):
        if os.path.commonpath([root, os.path.join(CORE, 'testing')]) == os.path.join(
            CORE, 'testing'
        ):
            continue
        for name in files:
            if not name.endswith('.py'):
                continue
            path = os.path.join(root, name)
            for module in imported_modules(path):
                parts = module.split('.')
                if parts[0] in ABOVE_THE_CORE or (
                    parts[0] == 'parlai_prosocial' and len(parts) > 1
                    and parts[1] in ABOVE_THE_CORE
                ):
                    wrong.append(f'{os.path.relpath(path, REPO)}: {module}')
    assert not wrong


def readme_names():
    """
    ``(flag, name)`` of every name in the first column of the README's table of names.
    """
    text = open(os.path.join(REPO, 'README.md'), encoding='utf-8').read()
    names = []
    for row in re.findall(r'^\| (`-[^|]*)\|', text, re.M):
        flag = prefix = None
        for token in re.findall(r'`([^`]+)`', row):
            if token.startswith('-'):
                flag, token = token.split(' ', 1)
                prefix = token.split('/')[0] + '/' if flag == '-o' else ''
            elif flag == '-o':
                token = prefix + token
            for corpus in ('social_chem', 'mic', 'norm_bank'):
                names.append((flag, token.replace('<corpus>', corpus)))
    return sorted(set(names))


@pytest.mark.parametrize('flag, name', readme_names())
def test_every_readme_name_resolves(flag, name):
    from parlai.core.loader import load_agent_module, load_teacher_module
    from parlai.core.opt import Opt

    if flag == '-t':
        if name.startswith('casual_safety:'):
            name = 'casual_safety:dailydialog'
        assert load_teacher_module(name) is not None
    elif flag == '-m':
        assert load_agent_module(name) is not None
    elif flag == '-o':
        assert Opt.load_init(name)
    else:
        import importlib

        assert flag == '-mf' and name.startswith('zoo:'), (flag, name)
        entry = name[len('zoo:') :].split('/')[0]
        assert callable(importlib.import_module(f'parlai.zoo.{entry}.build').download)


def test_the_readme_table_is_read():
    names = readme_names()
    assert ('-t', 'prosocial:rot_response') in names
    assert ('-o', 'prosocial/canary_pretrain_mic') in names
    assert ('-mf', 'zoo:canary/model') in names
    assert len(names) >= 40


def test_every_text_file_is_opened_as_utf8():
    """
    What the plugin writes and reads (reports with ⚠ and –, results, options, data) is UTF-8 on
    any machine: ``open`` in text mode takes the locale's encoding otherwise (cp1252, latin-1),
    and the suite, which runs in Python's UTF-8 mode, would never see it.
    """
    unnamed = []
    for top in ('parlai_prosocial', 'tasks', 'zoo', 'projects', 'benchmarks', 'scripts'):
        for root, _dirs, files in os.walk(os.path.join(REPO, top)):
            for name in (n for n in files if n.endswith('.py')):
                path = os.path.join(root, name)
                for node in ast.walk(ast.parse(open(path, encoding='utf-8').read(), path)):
                    if not isinstance(node, ast.Call) or getattr(node.func, 'id', None) != 'open':
                        continue
                    mode = node.args[1] if len(node.args) > 1 else next(
                        (k.value for k in node.keywords if k.arg == 'mode'), None)
                    binary = mode is not None and (
                        not isinstance(mode, ast.Constant) or 'b' in mode.value)
                    if not binary and not any(k.arg == 'encoding' for k in node.keywords):
                        unnamed.append(f'{os.path.relpath(path, REPO)}:{node.lineno}')
    assert not unnamed, unnamed
