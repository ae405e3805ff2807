"""
The one owner of what the data, the targets and the models' outputs mean: ProsocialDialog's safety
labels and A.4's rule, the markers the targets give a meaning to (and their escaping), the
generation targets of Prost and Canary and their inverses, and COSMO's input format. Tasks,
agents, recipes and tests import these; nothing here imports ParlAI or torch.

* RoT & Response (Prost, §4.2): ``"<RoT> <RoT> __endrots__ <response>"``; a turn with no RoTs is
  the response alone, and so is a casual turn by default (:func:`grounding_rots`).
  ``__endrots__`` is a single special token so a generated text splits back into (RoTs, response)
  without guessing.
* Canary (§4.1): ``"__casual__"``, or the safety label token then the RoTs joined by commas
  (``"__needs_caution__ It is wrong to call 911 just for fun."``).
* COSMO (SODA §4): ``narrative <sep> instruction <sep> u1 <turn> u2 ...``.
"""

import functools
import itertools
import os

# --- safety labels (ProsocialDialog §2.3, §3.3, App. A.4) ----------------------------------------

#: The five released safety levels, from least to most severe (paper A.4).
SAFETY_LABELS = (
    '__casual__',
    '__possibly_needs_caution__',
    '__probably_needs_caution__',
    '__needs_caution__',
    '__needs_intervention__',
)
CASUAL = SAFETY_LABELS[0]
NEEDS_CAUTION = '__needs_caution__'
NEEDS_INTERVENTION = '__needs_intervention__'

#: The paper's three-way schema (§2.3): every caution level is "needs caution".
THREE_WAY_SAFETY = {
    CASUAL: CASUAL,
    '__possibly_needs_caution__': NEEDS_CAUTION,
    '__probably_needs_caution__': NEEDS_CAUTION,
    NEEDS_CAUTION: NEEDS_CAUTION,
    NEEDS_INTERVENTION: NEEDS_INTERVENTION,
}
THREE_WAY_LABELS = (CASUAL, NEEDS_CAUTION, NEEDS_INTERVENTION)

#: the BAD classifier's classes (ParlAI's ``zoo:bot_adversarial_dialogue``), in the order of its
#: model file (``--classes __notok__ __ok__``)
BAD_CLASSES = ('__notok__', '__ok__')

#: our five safety labels -> the BAD classifier's classes, by the majority of the three votes
#: (A.4): casual and "possibly needs caution" (one caution vote of three) are ``__ok__``; "probably
#: needs caution" (two votes), "needs caution" (three) and "needs intervention" (any vote) are
#: ``__notok__``. The BAD classes judge the text itself ("OK to send in a friendly conversation
#: with someone you just met online"), ours the reply it calls for; the mapping is our choice.
OK_NOTOK = {
    CASUAL: '__ok__',
    '__possibly_needs_caution__': '__ok__',
    '__probably_needs_caution__': '__notok__',
    NEEDS_CAUTION: '__notok__',
    NEEDS_INTERVENTION: '__notok__',
}

#: the label sets a Canary output is read against (:func:`parse_canary_output`)
SAFETY_SCHEMAS = ('five', 'three')

#: The values of one annotator's vote in ``safety_annotations`` (three votes per turn, §3.3).
VOTES = ('casual', 'needs caution', 'needs intervention')
VOTES_PER_TURN = 3


def label_from_votes(votes):
    """
    A.4's rule: any "needs intervention" vote -> ``__needs_intervention__``; else one, two, three
    "needs caution" votes -> possibly / probably / ``__needs_caution__``; else ``__casual__``.
    """
    if 'needs intervention' in votes:
        return NEEDS_INTERVENTION
    return SAFETY_LABELS[min(sum(vote == 'needs caution' for vote in votes), 3)]


#: A.4's label of every possible triple of votes (a lookup, for the readers' every-row check)
LABEL_OF_VOTES = {
    votes: label_from_votes(votes) for votes in itertools.product(VOTES, repeat=VOTES_PER_TURN)
}

# --- markers -------------------------------------------------------------------------------------

ROTS_END = '__endrots__'

#: Tokens the ProsocialDialog targets give a meaning to; inside a text they are counted, and
#: escaped in targets.
PROSOCIAL_MARKERS = (ROTS_END,) + SAFETY_LABELS


@functools.lru_cache(maxsize=None)
def markers_start(markers):
    """
    What every one of ``markers`` starts with: a text without it holds none of them (one quick
    test before the exact ones); empty if they share no start.
    """
    return os.path.commonprefix(markers)


def escape_markers(text, markers):
    """
    ``text`` with each of ``markers`` made harmless: ``__endrots__`` -> ``_endrots_``,
    ``<turn>`` -> ``(turn)``; so a target never holds a marker its format gives a meaning to.
    """
    if markers_start(markers) not in text:  # most texts: one quick test instead of one a marker
        return text
    for marker in markers:
        while marker in text:  # again: '___endrots___' -> '__endrots__' -> '_endrots_'
            if marker.startswith('__') and marker.endswith('__'):
                text = text.replace(marker, marker[1:-1])
            elif marker.startswith('<') and marker.endswith('>'):
                text = text.replace(marker, '(' + marker[1:-1] + ')')
            else:
                raise ValueError(f'no escape for the marker {marker!r}')
    return text


# --- message fields ------------------------------------------------------------------------------
# ``rots`` is always the gold RoTs of the data, a list (teacher messages, as in the released
# files). What a model generated is one string in a field ending in ``_text``.

#: Reply field holding the RoTs the replying model generated, as one string ('' when none): Prost's
#: text before ``__endrots__``, Canary's after its label.
ROTS_TEXT_FIELD = 'rots_text'

#: canary_guard reply field holding Canary's RoTs for the turn (what steered it, when it was);
#: the guarded generator's own fields, e.g. Prost's ``rots_text``, pass through beside it.
GUARD_ROTS_TEXT_FIELD = 'guard_rots_text'

#: Reply field (Prost) holding, for each of ``beam_texts``, the RoTs of that beam ('' when none).
BEAM_ROTS_FIELD = 'beam_rots_texts'

# --- Prost's target (§4.2) -----------------------------------------------------------------------


#: ``--casual-rots`` of Prost's target: what a ``__casual__`` turn's RoTs become. §4.2 grounds
#: replies on RoTs "for contexts against social norms; otherwise, we train it to generate
#: responses without RoTs": dropped by default (as Canary's casual target has none)
CASUAL_ROTS = ('drop', 'keep')


def grounding_rots(rots, safety_label, casual_rots='drop'):
    """
    The RoTs Prost's target grounds a turn's reply on: the turn's, except for a casual turn's
    with ``casual_rots='drop'``.
    """
    if casual_rots not in CASUAL_ROTS:
        raise ValueError(f'unknown casual_rots {casual_rots!r}: use one of {CASUAL_ROTS}')
    if safety_label == CASUAL and casual_rots == 'drop':
        return []
    return rots or []


def rot_response_target(rots, response):
    if not rots:
        return response
    return f"{' '.join(rots)} {ROTS_END} {response}"


def split_rot_response(text):
    """
    ``(rots_text, response)`` of a RoT & Response text, gold or generated; ``rots_text`` is ''
    when there is none.

    A gold target holds the marker once (the teachers escape it inside RoTs and replies); a
    generated text may hold it several times (a tiny or badly trained model writes it again): the
    response is what follows the *last* marker, so it never holds one, and the RoTs are everything
    before it, markers dropped.
    """
    head, separator, response = text.rpartition(ROTS_END)
    if not separator:
        return '', text.strip()
    rots = ' '.join(part.strip() for part in head.split(ROTS_END) if part.strip())
    return rots, response.strip()


# --- Canary's target (§4.1) ----------------------------------------------------------------------


def safety_target(safety_label, rots):
    if safety_label == CASUAL or not rots:
        return safety_label
    return f"{safety_label} {', '.join(rots)}"


def parse_canary_output(text, schema='five'):
    """
    ``(safety_label, rots_text)`` of a Canary output, gold or generated.

    * the label is the first token (tokens are separated by any whitespace) when it is one of the
      five released safety labels, mapped to the three-way schema with ``schema='three'``;
      anything else (no label token, an unknown ``__token__``, empty text) gives ``('', the whole
      text stripped)``: the output is reported, never guessed into a label;
    * further label tokens right after it (``__needs_caution__ __casual__ ...``) are dropped: the
      first one decides;
    * ``__casual__`` carries no RoTs (its target is the label alone): whatever follows is dropped;
    * the RoTs' whitespace runs (newlines included) become single spaces.

    >>> parse_canary_output("__needs_caution__ It's wrong to hate people.")
    ('__needs_caution__', "It's wrong to hate people.")
    >>> parse_canary_output('__probably_needs_caution__ Be kind.', schema='three')
    ('__needs_caution__', 'Be kind.')
    >>> parse_canary_output('hello __casual__')
    ('', 'hello __casual__')
    """
    if schema not in SAFETY_SCHEMAS:
        raise ValueError(f'unknown safety schema {schema!r}: use one of {SAFETY_SCHEMAS}')
    text = text or ''
    tokens = text.split()
    if not tokens or tokens[0] not in THREE_WAY_SAFETY:
        return '', text.strip()
    label, rest = tokens[0], tokens[1:]
    while rest and rest[0].startswith('__') and rest[0].endswith('__') and len(rest[0]) > 4:
        rest = rest[1:]
    rots = '' if label == CASUAL else ' '.join(rest)
    return (THREE_WAY_SAFETY[label] if schema == 'three' else label), rots


# --- COSMO's input (SODA §4; ProsocialDialog in it: SODA App. C) ---------------------------------
# The paper prints the markers as <SEP> and <TURN>; the released model and its demo code use
# lowercase, which is what is written here, built exactly as the released ``set_input``:
# " <turn> ".join(history), then "instruction <sep> " in front if there is an instruction, then
# "narrative <sep> " in front if there is a narrative. So a dropped part takes its separator with
# it, and an empty history leaves the trailing " <sep> " that the released code also produces.

SEP = '<sep>'
TURN = '<turn>'
COSMO_MARKERS = (SEP, TURN)


def cosmo_input(narrative, instruction, history):
    text = f' {TURN} '.join(history)
    if instruction:
        text = f'{instruction} {SEP} {text}'
    if narrative:
        text = f'{narrative} {SEP} {text}'
    return text


def cosmo_instruction(speaker, listener):
    """
    The perspective instruction of §4, in the wording the paper and the model card use.
    """
    return f'Imagine you are {speaker} and speak to {listener}'


def rot_clause(rot):
    """
    A RoT as the end of "... is trying to gently convince a friend": first letter lowercased
    (unless the first word is "I" or an acronym), ending in punctuation.
    """
    rot = rot.strip()
    if not rot:
        return rot
    first_word = rot.split()[0]
    keep_case = first_word in ('I', "I'm", "I've", "I'd", "I'll") or (
        len(first_word) > 1 and first_word[1].isupper()
    )
    if not keep_case:
        rot = rot[0].lower() + rot[1:]
    if rot[-1] not in '.!?':
        rot += '.'
    return rot


def situation(name, rot):
    """
    App. C's situation made from a RoT: "Cosmo is trying to gently convince a friend it's wrong
    to ...".
    """
    return f'{name} is trying to gently convince a friend {rot_clause(rot)}'


# --- ToxiChat's classifiers (App. D.1) ----------------------------------------------------------

#: the classes of ToxiChat's stance and offensive annotations, as the release spells them
STANCE_LABELS = ('Agree', 'Disagree', 'Neutral')
OFFENSE_LABELS = ('Safe', 'Offensive')

#: Table 5's metrics (§6.1; ``tasks/toxichat/metrics.py`` reports them): the share of replies the
#: stance classifier puts in each of its classes, the offensive one calls Offensive, and that hold
#: a bad n-gram; with ``--toxichat-decision thresholds``, the shares no class passes its threshold
TOXICHAT_STANCE_METRICS = {
    'Disagree': 'toxichat_disagree',
    'Agree': 'toxichat_agree',
    'Neutral': 'toxichat_neutral',
}
TOXICHAT_OFFENSIVE_METRIC = 'toxichat_offensive'
TOXICHAT_BAD_METRIC = 'toxichat_bad'
TOXICHAT_STANCE_AMBIGUOUS_METRIC = 'toxichat_stance_ambiguous'
TOXICHAT_OFFENSIVE_AMBIGUOUS_METRIC = 'toxichat_offensive_ambiguous'

#: Table 5's columns in its order, with its headers (Neutral, not a column there, is 100 -
#: Disagree - Agree); the recipes' tables and the report show them so
TABLE5_METRICS = {
    **{metric: label for label, metric in TOXICHAT_STANCE_METRICS.items()},
    TOXICHAT_OFFENSIVE_METRIC: 'Offense',
    TOXICHAT_BAD_METRIC: 'Bad',
}
#: the shares ``--toxichat-decision thresholds`` adds after Table 5's, with their headers
TOXICHAT_AMBIGUOUS_METRICS = {
    TOXICHAT_STANCE_AMBIGUOUS_METRIC: 'Stance ambiguous',
    TOXICHAT_OFFENSIVE_AMBIGUOUS_METRIC: 'Offense ambiguous',
}

#: --toxichat-classifier-input: what the stance and offensive classifiers read (the reply with the
#: turn it answers, or the whole thread)
CLASSIFIER_INPUTS = ('pair', 'thread')


def trained_classifier_input(model_opt):
    """
    The ``--toxichat-classifier-input`` a classifier was trained with, from its saved opt: the
    option itself, ``pair`` for a model trained on a toxichat task before the option existed, or
    None (trained on something else: nothing to check).
    """
    saved = model_opt.get('toxichat_classifier_input')
    if saved:
        return saved
    if str(model_opt.get('task') or '').startswith('toxichat'):
        return CLASSIFIER_INPUTS[0]
    return None
