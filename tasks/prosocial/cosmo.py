"""
``prosocial:cosmo``: ProsocialDialog in COSMO's input format (SODA paper, App. C and §4); the
format here, the teacher (``CosmoTeacher``) in ``agents.py``.

App. C: "We randomly sample names from our name database (§2.3) to construct the situation
descriptions and perspective instructions for ProsocialDialog. The situation descriptions are made
from the RoTs in ProsocialDialog (e.g., "Cosmo is trying to gently convince a friend it's wrong to
think all men are violent."); the instructions are built as we did for SODA (§4)."

So every prosocial reply becomes one example (its own episode)::

    {A} is trying to gently convince a friend {rot} <sep> Imagine you are {A} and speak to {B}
    <sep> context_1 <turn> reply_1 <turn> ... <turn> context_t      ->  reply_t

* ``A`` (the prosocial speaker) and ``B`` (the friend, who says the problematic turns) are two
  different names drawn per dialogue by a generator seeded with ``--cosmo-names-seed``, the split
  and the dialogue id, so the same dialogue always gets the same names. The paper draws from the
  top-1K US SSN names of 1990-2021 (§2.3), which are not bundled: ``NAMES`` is a shorter list of
  common US given names; ``--cosmo-names-file`` (one name a line) supplies the real list.
* ``{rot}``: one RoT of the turn (drawn by the same generator when there are several), its first
  letter lowercased (unless it is "I" or an acronym) and ending in a full stop, as in the paper's
  example. A turn without RoTs (a casual turn) keeps the situation of the latest earlier turn that
  had some; before any, there is no situation (the input starts with the instruction).
* Only the prosocial replies are targets: the model plays the one who convinces, as the situation
  says; the problematic turns are context only.

The narrative and the instruction are dropped in training as for ``soda``
(``--cosmo-drop-narrative`` 0.3, ``--cosmo-drop-instruction`` 0.5, ``--cosmo-drop-seed``; never in
valid/test): the data is small and held in memory by ``DialogTeacher``, so the decision is made as
each example is handed out, keyed on (seed, split, dialogue, turn, how many times this example has
been handed out), hence reproducible and different on each pass.

The messages keep ProsocialDialog's annotations (``rots``, ``safety_label``, ...,
``dialogue_id``, ``response_id``) and add ``situation``, ``instruction``, ``speaker`` and
``listener`` (the full, undropped parts).
"""

import random


from parlai_prosocial.formats import SEP, cosmo_input, cosmo_instruction, situation

#: Common US given names (all genders) of SSA's 1990-2021 baby-name lists; a stand-in for the
#: paper's top-1K list, which ``--cosmo-names-file`` can supply.
NAMES = (
    'Aaliyah', 'Aaron', 'Abigail', 'Adrian', 'Aiden', 'Alexis', 'Alyssa', 'Amanda', 'Andrew',
    'Angel', 'Anthony', 'Ashley', 'Austin', 'Ava', 'Avery', 'Benjamin', 'Brandon', 'Brianna',
    'Brittany', 'Caleb', 'Cameron', 'Carlos', 'Charlotte', 'Chloe', 'Christian', 'Christopher',
    'Daniel', 'David', 'Destiny', 'Diego', 'Dylan', 'Elijah', 'Elizabeth', 'Emily', 'Emma',
    'Ethan', 'Evelyn', 'Gabriel', 'Grace', 'Hailey', 'Hannah', 'Isaac', 'Isabella', 'Jacob',
    'Jada', 'Jasmine', 'Jayden', 'Jessica', 'Jordan', 'Jose', 'Joshua', 'Juan', 'Julia',
    'Justin', 'Kayla', 'Kevin', 'Kimberly', 'Lauren', 'Liam', 'Logan', 'Lucas', 'Luis',
    'Madison', 'Malik', 'Maria', 'Mason', 'Matthew', 'Maya', 'Megan', 'Mia', 'Michael',
    'Morgan', 'Natalie', 'Nathan', 'Nevaeh', 'Nicholas', 'Noah', 'Olivia', 'Priya', 'Rachel',
    'Riley', 'Ryan', 'Samantha', 'Samuel', 'Sarah', 'Sofia', 'Stephanie', 'Taylor', 'Tyler',
    'Victoria', 'William', 'Xavier', 'Zoe',
)


def read_names(path):
    with open(path, encoding='utf-8') as f:
        names = [line.strip() for line in f if line.strip()]
    if len(set(names)) < 2:
        raise ValueError(f'{path}: a names file needs at least two different names, one a line')
    return tuple(dict.fromkeys(names))


def cosmo_examples(dialogue, names, seed, split):
    """
    The COSMO examples of one ProsocialDialog dialogue (turns as ``data.read_dialogues`` gives
    them): one dict per turn with the text, the reply and the parts it is made of.
    """
    rng = random.Random(f'{seed}|{split}|{dialogue[0]["dialogue_id"]}')
    speaker, listener = rng.sample(names, 2)
    instruction = cosmo_instruction(speaker, listener)
    narrative = ''
    history = []
    examples = []
    for turn in dialogue:
        if turn['rots']:
            narrative = situation(speaker, rng.choice(turn['rots']))
        history.append(turn['context'])
        examples.append(
            {
                'text': cosmo_input(narrative, instruction, history),
                'labels': [turn['response']],
                'situation': narrative,
                'instruction': instruction,
                'speaker': speaker,
                'listener': listener,
            }
        )
        history.append(turn['response'])
    return examples


def drop_parts(text, narrative, instruction, drop_narrative, drop_instruction):
    """
    ``text`` (built by ``cosmo_input`` with ``narrative`` and ``instruction``) without the parts
    to drop, exactly as if they had been left out when building it.
    """
    if narrative:
        prefix = f'{narrative} {SEP} '
        assert text.startswith(prefix)
        if drop_narrative:
            text = text[len(prefix) :]
    if instruction:
        prefix = f'{instruction} {SEP} '
        start = 0 if (drop_narrative or not narrative) else len(f'{narrative} {SEP} ')
        assert text[start:].startswith(prefix)
        if drop_instruction:
            text = text[:start] + text[start + len(prefix) :]
    return text
