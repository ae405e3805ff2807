"""
The text formats of the paper's generation targets, and their inverses.

* RoT & Response (Prost, §4.2): ``"<RoT> <RoT> __endrots__ <response>"``; a turn with no RoTs is
  the response alone. ``__endrots__`` is a single special token so a generated text splits back
  into (RoTs, response) without guessing.
* Canary (§4.1): ``"__casual__"``, or the safety label token then the RoTs joined by commas
  (``"__needs_caution__ It is wrong to call 911 just for fun."``).
"""

ROTS_END = '__endrots__'

# Field names. ``rots`` is always the gold RoTs of the data, a list (teacher messages, as in the
# released files). What a model generated is one string in a field ending in ``_text``.

#: Reply field holding the RoTs the replying model generated, as one string ('' when none): Prost's
#: text before ``__endrots__``, Canary's after its label.
ROTS_TEXT_FIELD = 'rots_text'

#: canary_guard reply field holding Canary's RoTs for the turn (what steered it, when it was);
#: the guarded generator's own fields, e.g. Prost's ``rots_text``, pass through beside it.
GUARD_ROTS_TEXT_FIELD = 'guard_rots_text'

#: Reply field (Prost) holding, for each of ``beam_texts``, the RoTs of that beam ('' when none).
BEAM_ROTS_FIELD = 'beam_rots_texts'


def rot_response_target(rots, response):
    if not rots:
        return response
    return f"{' '.join(rots)} {ROTS_END} {response}"


def split_rot_response(text):
    """
    ``(rots_text, response)`` of a RoT & Response text, gold or generated; ``rots_text`` is ''
    when there is none.

    The one split rule for the whole plugin. A gold target holds the marker once (the teachers
    escape it inside RoTs and replies); a generated text may hold it several times (a tiny or
    badly trained model writes it again): the response is what follows the *last* marker, so it
    never holds one, and the RoTs are everything before it, markers dropped.
    """
    head, separator, response = text.rpartition(ROTS_END)
    if not separator:
        return '', text.strip()
    rots = ' '.join(part.strip() for part in head.split(ROTS_END) if part.strip())
    return rots, response.strip()


def safety_target(safety_label, rots):
    if safety_label == '__casual__' or not rots:
        return safety_label
    return f"{safety_label} {', '.join(rots)}"


def _is_label_token(token):
    return token.startswith('__') and token.endswith('__') and len(token) > 4


def split_safety_output(text):
    """
    ``(safety_label, rots_text)`` of a Canary text, by one rule:

    * the label is the first token (tokens are separated by any whitespace, so a label followed by
      a newline counts) when it is a ``__label__`` token; else there is no label: ``''`` and the
      whole text (stripped) as ``rots_text``;
    * further label tokens right after it (``__needs_caution__ __casual__ ...``) are dropped: the
      first one decides;
    * ``__casual__`` carries no RoTs (its target is the label alone): whatever follows it is
      dropped, ``rots_text`` is ``''``;
    * the RoTs' whitespace runs (newlines included) become single spaces.
    """
    tokens = (text or '').split()
    if not tokens or not _is_label_token(tokens[0]):
        return '', (text or '').strip()
    label, rest = tokens[0], tokens[1:]
    while rest and _is_label_token(rest[0]):
        rest = rest[1:]
    if label == '__casual__':
        return label, ''
    return label, ' '.join(rest)
