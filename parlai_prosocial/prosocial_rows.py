"""
The ProsocialDialog row schema, defined once: each field of a turn, its type and what an error
message says it expected. The reader decodes JSON Lines rows against these types in C
(:func:`~parlai_prosocial.data_files.json_lines`) and checks rows of the other layouts, and
explains a refused row, with the same types (:func:`~parlai_prosocial.data_files.checked_fields`).

A field maps to ``(type, wanted)``; ``bool`` is not an ``int`` here, as in JSON.
"""

from typing import Annotated, List, Literal, Optional

from msgspec import Meta

from parlai_prosocial.formats import SAFETY_LABELS, VOTES, VOTES_PER_TURN

_STRING = (str, 'a string')
_STRINGS = (List[str], 'a list of strings')

#: the fields of a turn, in both layouts (the direct download names two of them otherwise,
#: :data:`DIRECT_DOWNLOAD_FIELDS`)
TURN_FIELDS = {
    'context': _STRING,
    'response': _STRING,
    'rots': (Optional[List[str]], 'a list of strings or null'),
    'safety_label': (Literal[SAFETY_LABELS], 'one of ' + ', '.join(SAFETY_LABELS)),
    'safety_annotations': (
        Annotated[
            List[Literal[VOTES]], Meta(min_length=VOTES_PER_TURN, max_length=VOTES_PER_TURN)
        ],
        f'a list of {VOTES_PER_TURN} votes, each one of ' + ', '.join(map(repr, VOTES)),
    ),
    'safety_annotation_reasons': _STRINGS,
    'source': _STRING,
    'etc': _STRING,
}

#: what places a turn in the HF rows: its dialogue, its number there, and whether it is the last
ID_FIELDS = {
    'dialogue_id': (int, 'an integer'),
    'response_id': (int, 'an integer'),
    'episode_done': (bool, 'true or false'),
}

#: one row of the HF dataset (JSON Lines, or one entry of each list of the viewer's export)
ROW_FIELDS = {**TURN_FIELDS, **ID_FIELDS}

#: one turn of the direct download's list of dialogues (``text`` is the context, ``labels`` the
#: response as a list of one); ``episode_done`` may be there, as true or false
DIRECT_DOWNLOAD_FIELDS = {
    'text': TURN_FIELDS['context'],
    'labels': _STRINGS,
    **{f: v for f, v in TURN_FIELDS.items() if f not in ('context', 'response')},
}

#: the fields of a turn as the reader gives it: the turn fields (``rots`` a list), then the ids
#: that place it (``episode_done`` is the dialogue's end)
READ_FIELDS = tuple(TURN_FIELDS) + ('dialogue_id', 'response_id')
