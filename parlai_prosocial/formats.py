"""
The text formats of the paper's generation targets, and their inverses.

* RoT & Response (Prost, §4.2): ``"<RoT> <RoT> __endrots__ <response>"``; a turn with no RoTs is
  the response alone. ``__endrots__`` is a single special token so a generated text splits back
  into (RoTs, response) without guessing.
* Canary (§4.1): ``"__casual__"``, or the safety label token then the RoTs joined by commas
  (``"__needs_caution__ It is wrong to call 911 just for fun."``).
"""

ROTS_END = '__endrots__'

#: Reply field (Prost) holding the RoTs the model generated before ``__endrots__`` ('' when none).
ROTS_TEXT_FIELD = 'rots_text'

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


def split_safety_output(text):
    """
    ``(safety_label, rots_text)`` of a Canary text; the label is the first token when it is a
    ``__label__`` token, else ''.
    """
    first, _, rest = text.strip().partition(' ')
    if first.startswith('__') and first.endswith('__') and len(first) > 4:
        return first, rest.strip()
    return '', text.strip()
