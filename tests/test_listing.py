"""
``python -m parlai_prosocial`` lists every name the plugin adds, each with a description, and
every name it lists is one ParlAI resolves.
"""

import io
import os
import runpy
import sys

import pytest

from parlai_prosocial import __main__ as listing_module
from parlai_prosocial.our_names import ALIASES


@pytest.fixture(scope='module')
def listed():
    sections = dict(listing_module.listing())
    out = io.StringIO()
    listing_module.main(out)
    return sections, out.getvalue()


def _names(rows):
    return [name.strip() for name, _ in rows]


def test_every_alias_and_preset_is_listed_with_a_description(listed):
    sections, output = listed
    for rows in sections.values():
        for name, description in rows:
            assert description.strip(), name
            assert f'{name.strip()} ' in output and description in output, name
    everything = {name for rows in sections.values() for name in _names(rows)}
    for alias in ALIASES:
        kind, name = alias.split('.')[1:3]
        expected = f'zoo:{name}/model' if kind == 'zoo' else name
        assert expected in everything, alias
    files = os.listdir(listing_module.presets_dir())
    presets = sorted(f'prosocial/{f[:-4]}' for f in files if f.endswith('.opt'))
    assert sorted(_names(sections['Presets (-o)'])) == presets


def test_every_listed_name_resolves(listed):
    from parlai.core.loader import load_agent_module, load_teacher_module

    sections, _ = listed
    for name in _names(sections['Tasks and their teachers (-t)']):
        assert load_teacher_module(name.replace(':TASK', ':dailydialog')) is not None, name
    for name in _names(sections['Agents (-m)']):
        assert load_agent_module(name) is not None, name
    # the teachers' names are ParlAI's for their classes: a few by hand
    teachers = _names(sections['Tasks and their teachers (-t)'])
    for name in ('prosocial:safety_classification', 'prosocial:ok_notok_safety', 'soda:dialogue',
                 'toxichat:stance', 'casual_safety:TASK'):
        assert name in teachers


def test_descriptions_are_one_sentence_of_the_docstring():
    summary = listing_module.summary
    assert summary('First line\ngoes on (App. B.1, Kim et al. 2022). Second.\n\nMore.') == (
        'First line goes on (App. B.1, Kim et al. 2022).'
    )
    assert summary('``-m x``: uses :mod:`.build` and :class:`~.data.Reader`') == (
        '`-m x`: uses `build` and `data.Reader`'
    )
    assert listing_module.describe_preset({'inference': 'beam', 'beam_size': 10}) == (
        'sets inference "beam", beam_size 10'
    )


def test_the_command(capsys, monkeypatch):
    monkeypatch.delitem(sys.modules, 'parlai_prosocial.__main__')  # as `python -m` finds it
    monkeypatch.setattr(sys, 'argv', ['python -m parlai_prosocial'])
    runpy.run_module('parlai_prosocial', run_name='__main__')
    output = capsys.readouterr().out
    assert 'prosocial:rot_response' in output and 'prosocial/tiny_toxichat_stance' in output
