"""
The tested dependency set is ``requirements/lock.txt``; ``setup.py`` declares what the code needs.
Every requirement ``setup.py`` declares must be pinned in the lock at a version it admits, or an
install from the lock (what CI and ``scripts/install.sh`` do) lacks or mismatches it.
"""

import ast
import os

from packaging.requirements import Requirement

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def declared_requirements():
    """
    The strings of ``install_requires`` and of every ``extras_require`` list in ``setup.py``.
    """
    with open(os.path.join(ROOT, 'setup.py'), encoding='utf-8') as f:
        tree = ast.parse(f.read())
    (call,) = [
        node for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, 'id', None) == 'setup'
    ]
    keywords = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords
                if keyword.arg in ('install_requires', 'extras_require')}
    extras = [r for requirements in keywords['extras_require'].values() for r in requirements]
    return keywords['install_requires'] + extras


def locked_versions():
    pins = {}
    with open(os.path.join(ROOT, 'requirements', 'lock.txt'), encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                name, version = line.split('==')
                pins[name.lower().replace('_', '-')] = version
    return pins


def test_every_declared_requirement_is_pinned_in_the_lock_at_an_admitted_version():
    pins = locked_versions()
    declared = [Requirement(text) for text in declared_requirements()]
    assert any(r.name == 'msgspec' for r in declared)  # data_files.json_lines decodes with it
    problems = []
    for requirement in declared:
        version = pins.get(requirement.name.lower().replace('_', '-'))
        if version is None:
            problems.append(f'{requirement}: not in requirements/lock.txt')
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f'{requirement}: the lock pins {version}')
    assert problems == []
