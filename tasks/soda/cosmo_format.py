"""
The training drops of COSMO's input (Kim et al., SODA paper §4), shared by ``soda`` and
``prosocial:cosmo``; the format itself is :mod:`parlai_prosocial.formats` (``cosmo_input``).

COSMO is trained on p(r | n, i, c): the situation narrative ``n``, the perspective instruction
``i`` ("Imagine you are Madeleine and speak to her coach") and the dialogue context ``c``, joined
by a separator; the utterances of ``c`` are joined by a turn marker. The paper prints the markers
as ``<SEP>`` and ``<TURN>``; the released model and its demo code use lowercase ``<sep>`` and
``<turn>``, which is what is written here, built exactly as the released ``set_input``:

    " <turn> ".join(history), then "instruction <sep> " in front if there is an instruction, then
    "narrative <sep> " in front if there is a narrative.

So a dropped narrative or instruction takes its separator with it, and an empty history (the
dialogue's first turn) leaves the trailing ``" <sep> "`` that the released code also produces.

Training drops the narrative 30 % and the instruction 50 % of the time (§4, "for better robustness
and generalizability"). Here these are ``--cosmo-drop-narrative`` and
``--cosmo-drop-instruction``, applied only when the datatype is training (never in valid, test or
``train:evalmode``), and decided by a seeded generator (``--cosmo-drop-seed``) so a run is
reproducible; each teacher documents what the decision is keyed on.
"""

from parlai.utils.data import DatatypeHelper

from parlai_prosocial.errors import ProsocialOptionError

#: The paper's training rates (§4).
DROP_NARRATIVE = 0.3
DROP_INSTRUCTION = 0.5


def add_cosmo_format_args(parser):
    """
    The drop options; ``soda`` and ``prosocial:cosmo`` share them (ParlAI's parser resolves the
    repeated definition), so one setting covers a ``-t soda,prosocial:cosmo`` mix.
    """
    group = parser.add_argument_group('COSMO input format')
    group.add_argument(
        '--cosmo-drop-narrative',
        type=float,
        default=DROP_NARRATIVE,
        help='training only: probability of leaving the narrative (and its <sep>) out of an '
        'example (SODA paper §4: 0.3); never applied in valid/test',
    )
    group.add_argument(
        '--cosmo-drop-instruction',
        type=float,
        default=DROP_INSTRUCTION,
        help='training only: probability of leaving the "Imagine you are ..." instruction (and '
        'its <sep>) out of an example (SODA paper §4: 0.5); never applied in valid/test',
    )
    group.add_argument(
        '--cosmo-drop-seed',
        type=int,
        default=0,
        help='seed of the drop decisions, so the same data gives the same inputs in every run',
    )
    return parser


def drop_rates(opt):
    """
    (narrative, instruction) drop probabilities in force for ``opt``: zero unless training.
    """
    if not DatatypeHelper.is_training(opt.get('datatype', 'train')):
        return 0.0, 0.0
    rates = []
    for key, default in (
        ('cosmo_drop_narrative', DROP_NARRATIVE),
        ('cosmo_drop_instruction', DROP_INSTRUCTION),
    ):
        value = opt.get(key)
        value = default if value is None else float(value)
        if not 0.0 <= value <= 1.0:
            raise ProsocialOptionError(
                f'--{key.replace("_", "-")} is {value}: expected a probability from 0 to 1'
            )
        rates.append(value)
    return tuple(rates)
