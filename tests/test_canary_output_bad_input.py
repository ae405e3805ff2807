"""
The rule for reading Canary's generated text (``formats.parse_canary_output``, used by
``parse_canary_output``, the ``canary`` agent and the guard): targets read back, the five levels
and the three-way schema, and the outputs a badly trained model writes: no label token, an unknown
``__token__``, a label not first, two label tokens, ``__casual__`` followed by RoTs, a label
followed by a newline.
"""

import pytest

from parlai_prosocial.agents.canary import parse_canary_output
from parlai_prosocial.formats import safety_target


@pytest.mark.parametrize(
    'text, parsed',
    [
        ('__needs_caution__ __casual__ Be kind.', ('__needs_caution__', 'Be kind.')),
        ('__casual__ __needs_intervention__ Call 911.', ('__casual__', '')),
        ('__casual__ It is wrong to lie.', ('__casual__', '')),
        ('__needs_caution__\nIt is wrong to lie.', ('__needs_caution__', 'It is wrong to lie.')),
        (
            '__needs_intervention__\n\n Call 911.\n  You should get help. ',
            ('__needs_intervention__', 'Call 911. You should get help.'),
        ),
        ('__casual__\n', ('__casual__', '')),
        ('  __needs_caution__  ', ('__needs_caution__', '')),
        ('hello __casual__', ('', 'hello __casual__')),
        ('', ('', '')),
        ('\n', ('', '')),
    ],
)
def test_parse_canary_output_rule(text, parsed):
    assert parse_canary_output(text) == parsed


@pytest.mark.parametrize(
    'label, rots',
    [
        ('__casual__', []),
        ('__needs_caution__', ['It is wrong to lie', 'You should be honest.']),
        ('__needs_intervention__', ['You should call 911.']),
    ],
)
def test_a_target_reads_back(label, rots):
    assert parse_canary_output(safety_target(label, rots)) == (label, ', '.join(rots))


@pytest.mark.parametrize(
    'text, schema, parsed',
    [
        (
            '__probably_needs_caution__ __casual__ Be kind.',
            'three',
            ('__needs_caution__', 'Be kind.'),
        ),
        ('__possibly_needs_caution__ Be nice.', 'five', ('__possibly_needs_caution__', 'Be nice.')),
        ('__possibly_needs_caution__ Be nice.', 'three', ('__needs_caution__', 'Be nice.')),
        ('__needs_intervention__ Call 911.', 'three', ('__needs_intervention__', 'Call 911.')),
        ('__casual__', 'three', ('__casual__', '')),
        ('__casual__ It is wrong.', 'five', ('__casual__', '')),
        ('__SILENCE__ hi', 'five', ('', '__SILENCE__ hi')),  # not a safety label: no label
        ('__endrots__ hello', 'five', ('', '__endrots__ hello')),
        ('__needs_cautio__ typo', 'five', ('', '__needs_cautio__ typo')),
        ('It is wrong to lie.', 'five', ('', 'It is wrong to lie.')),
        ('__needs_caution__\nBe kind.', 'five', ('__needs_caution__', 'Be kind.')),
        (None, 'three', ('', '')),
    ],
)
def test_parse_canary_output(text, schema, parsed):
    assert parse_canary_output(text, schema=schema) == parsed


def test_parse_canary_output_rejects_an_unknown_schema():
    with pytest.raises(ValueError, match='schema'):
        parse_canary_output('__casual__', 'seven')
