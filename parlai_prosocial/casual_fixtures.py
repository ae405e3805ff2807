"""
Tiny offline stand-ins for the casual datasets of the paper's training mixtures.

The paper mixes ProsocialDialog with ParlAI's built-in teachers ``dailydialog``, ``convai2``
(PersonaChat), ``wizard_of_wikipedia``, ``empathetic_dialogues`` and ``blended_skill_talk``.
:func:`write_casual_fixtures` writes, for each of them, two or three short hand-written dialogues
per split into exactly the files, paths and formats that ParlAI 1.7.2's own ``build.py`` /
``agents.py`` of that task read, and marks each folder built with ParlAI's own
``build_data.mark_done`` and that ``build.py``'s version string. ParlAI's ``build()`` then sees the
data as already downloaded and never touches the network, so tiny versions of the mixtures run
offline (``tests/test_casual_fixtures.py``).

What each writer matches, all in ``parlai/tasks/<task>/`` of ParlAI 1.7.2:

``dailydialog``
    ``build.py`` version ``'None'`` (the string); ``agents.py`` reads
    ``<datapath>/dailydialog/{train,valid,test}.json``, JSON Lines of
    ``{"fold", "topic", "dialogue": [{"emotion", "act", "text"}]}`` as written by ``parse.py``.
``convai2``
    ``build.py`` version ``'v5.0'``, folder ``ConvAI2``; ``agents.py`` reads
    ``{train,valid}_<persona>[_no_cands].txt`` in the fbdialog format of
    ``FbDeprecatedDialogTeacher`` (``N text<TAB>label<TAB><TAB>cand|...|cand``, numbering
    restarting at 1 for each episode). The default teacher is ``self_original``; ``both_original``
    and ``none_original`` are written too. There is no test split: the teacher reads valid.
``wizard_of_wikipedia``
    ``build.py`` version ``'1.0'``; ``agents.py`` reads ``train.json`` and
    ``{valid,test}_{random_split,topic_split}.json``: a JSON list of episodes with
    ``chosen_topic``, ``chosen_topic_passage``, ``wizard_eval``, ``persona`` and ``dialog`` turns
    (``speaker``, ``text``, ``retrieved_topics``, ``retrieved_passages``, and on wizard turns
    ``checked_sentence`` / ``checked_passage``, plus ``candidate_responses`` outside train). The
    default teacher, ``WizardDialogKnowledgeTeacher`` with ``--label-type response``, also reads
    ``data.json`` (all episodes) for its rare-word F1 metric; that metric needs ``nltk``.
``empathetic_dialogues``
    ``build.py`` version ``'1.0'``, folder ``empatheticdialogues``; ``agents.py`` reads
    ``empatheticdialogues/{train,valid,test}.csv``: a header line, then unquoted comma-separated
    rows ``conv_id,utterance_idx,context,prompt,speaker_idx,utterance,selfeval,tags`` in which
    commas inside fields are written ``_comma_`` (the teacher splits lines on ``,``).
``blended_skill_talk``
    ``build.py`` version ``'v1.5'``; the default teacher (a ``ParlAIDialogTeacher``) reads
    ``{train,valid,test}.txt``, which ``build.py`` converts from the raw
    ``{train,valid,test}.json`` with its ``_create_parlai_format``. We write the raw JSON and run
    that very function, so the ``.txt`` files are ParlAI's own conversion. The files only other
    BST teachers or worlds read (``persona_list.txt``, ``topic_to_persona_list.txt``,
    ``safe_personas.txt``, ``ed_persona_topicifier__*.json``, ``human_annotations.json``) are not
    written.

A folder that is already built but was not written by this module (a real download) is never
overwritten: :func:`write_casual_fixtures` raises ``FileExistsError`` instead.
"""

import contextlib
import io
import json
import os

#: The built-in teachers of the paper's casual mixtures, in the order of the paper.
CASUAL_TASKS = (
    'dailydialog',
    'convai2',
    'wizard_of_wikipedia',
    'empathetic_dialogues',
    'blended_skill_talk',
)

#: task -> (folder under the datapath, version string of that task's ``build.py``)
TASK_FOLDERS = {
    'dailydialog': ('dailydialog', 'None'),
    'convai2': ('ConvAI2', 'v5.0'),
    'wizard_of_wikipedia': ('wizard_of_wikipedia', '1.0'),
    'empathetic_dialogues': ('empatheticdialogues', '1.0'),
    'blended_skill_talk': ('blended_skill_talk', 'v1.5'),
}

#: File left in every folder we write, so that we overwrite our own fixtures but no real data.
FIXTURE_MARKER = '.casual_fixture'


def _write_text(path, text):
    with open(path, 'w', encoding='utf-8', newline='\n') as f:
        f.write(text)


def _write_json(path, obj):
    _write_text(path, json.dumps(obj, indent=1) + '\n')


def _write_jsonl(path, rows):
    _write_text(path, ''.join(json.dumps(row) + '\n' for row in rows))


# ---------------------------------------------------------------------------------------------
# DailyDialog
# ---------------------------------------------------------------------------------------------

#: split -> dialogues as (topic, [(emotion, act, text)]); texts tokenized like DailyDialog's
DAILYDIALOG = {
    'train': [
        (
            'tourism',
            [
                ('no_emotion', 'question', 'Excuse me , does this bus go to the city museum ?'),
                ('no_emotion', 'inform', 'Yes , it does . Get off at the fourth stop .'),
                ('happiness', 'question', 'Thank you so much . How long is the ride ?'),
                ('no_emotion', 'inform', 'About twenty minutes if the traffic is light .'),
            ],
        ),
        (
            'work',
            [
                ('no_emotion', 'question', "Did you finish the report for Monday's meeting ?"),
                ('no_emotion', 'inform', 'Almost . I only need to add the sales figures .'),
                ('no_emotion', 'directive', 'Great , send it to me when you are done .'),
            ],
        ),
    ],
    'valid': [
        (
            'ordinary_life',
            [
                ('no_emotion', 'question', 'What would you like for dinner tonight ?'),
                ('happiness', 'directive', "Let's make pasta with fresh tomatoes ."),
                ('no_emotion', 'commissive', "Sounds good . I'll buy the tomatoes on my way home ."),
            ],
        ),
        (
            'health',
            [
                ('sadness', 'inform', "I've had a terrible headache since this morning ."),
                ('no_emotion', 'directive', 'You should drink some water and rest for a while .'),
            ],
        ),
    ],
    'test': [
        (
            'school_life',
            [
                ('fear', 'inform', 'Our chemistry exam is tomorrow and I am not ready .'),
                ('no_emotion', 'directive', "Let's review the last two chapters together tonight ."),
                ('happiness', 'inform', 'Thanks , that would really help me .'),
            ],
        ),
        (
            'relationship',
            [
                ('no_emotion', 'question', 'How did you and your best friend meet ?'),
                ('happiness', 'inform', 'We sat next to each other on the first day of school .'),
            ],
        ),
    ],
}

#: split -> the ``fold`` field ``parse.py`` wrote (the original DailyDialog folder name)
DAILYDIALOG_FOLDS = {'train': 'train', 'valid': 'validation', 'test': 'test'}


def _write_dailydialog(dpath):
    for split, dialogues in DAILYDIALOG.items():
        rows = [
            {
                'fold': DAILYDIALOG_FOLDS[split],
                'topic': topic,
                'dialogue': [
                    {'emotion': emotion, 'act': act, 'text': text}
                    for emotion, act, text in turns
                ],
            }
            for topic, turns in dialogues
        ]
        _write_jsonl(os.path.join(dpath, f'{split}.json'), rows)


# ---------------------------------------------------------------------------------------------
# ConvAI2 (PersonaChat)
# ---------------------------------------------------------------------------------------------

#: split -> dialogues; ``turns`` are (partner's message, our reply, distractor candidates).
#: ConvAI2 has no test split (its teacher reads valid for test).
CONVAI2 = {
    'train': [
        {
            'self': ['i love to bake bread .', 'i have two cats .'],
            'partner': ['i work as a nurse .', 'i enjoy running in the park .'],
            'turns': [
                (
                    'hi ! how are you doing today ?',
                    'i am great , i just baked some bread . how are you ?',
                    ['i live near the ocean .', 'my favorite color is green .'],
                ),
                (
                    'i am tired , i worked a long shift at the hospital .',
                    'that sounds hard . my cats always cheer me up after a long day .',
                    ['i like to play chess .', 'do you have any hobbies ?'],
                ),
            ],
        },
        {
            'self': ['i play the guitar .', 'my favorite food is tacos .'],
            'partner': ['i am a college student .', 'i have a little brother .'],
            'turns': [
                (
                    'hello , what do you do for fun ?',
                    'i play the guitar in a small band . what about you ?',
                    ['i am allergic to peanuts .', 'the weather is nice today .'],
                ),
                (
                    'i mostly study , i have exams next week .',
                    'good luck ! tacos are my favorite study snack .',
                    ['i drive a red truck .', 'i have never been to europe .'],
                ),
            ],
        },
    ],
    'valid': [
        {
            'self': ['i grow tomatoes in my garden .', 'i am retired .'],
            'partner': ['i love science fiction movies .', 'i live in a big city .'],
            'turns': [
                (
                    'hey there , seen any good movies lately ?',
                    'not really , i spend most days in my garden since i retired .',
                    ['i have three sisters .', 'my dog is named max .'],
                ),
                (
                    'a garden sounds relaxing . what do you grow ?',
                    'mostly tomatoes , they taste much better than store bought ones .',
                    ['i work at a bank .', 'i like to swim .'],
                ),
            ],
        },
        {
            'self': ['i am a teacher .', 'i like hiking on weekends .'],
            'partner': ['i have a pet parrot .', 'i cook italian food .'],
            'turns': [
                (
                    'good evening ! any plans for the weekend ?',
                    'i am going hiking in the mountains with some other teachers .',
                    ['i read a lot of poetry .', 'my car broke down .'],
                ),
            ],
        },
    ],
}

#: file suffix -> which personas the context shows (``parlai/tasks/convai2/agents.py``)
CONVAI2_PERSONA_FILES = {
    'self_original': ('self',),
    'both_original': ('self', 'partner'),
    'none_original': (),
}

_PERSONA_PREFIX = {'self': 'your persona: ', 'partner': "partner's persona: "}


def _convai2_lines(dialogue, shown_personas, with_cands):
    lines = []
    for who in shown_personas:
        for fact in dialogue[who]:
            lines.append(_PERSONA_PREFIX[who] + fact)
    for message, reply, distractors in dialogue['turns']:
        if with_cands:
            # like the real files: the distractors, then the true reply last
            cands = '|'.join(distractors + [reply])
            lines.append(f'{message}\t{reply}\t\t{cands}')
        else:
            lines.append(f'{message}\t{reply}')
    return [f'{i} {line}' for i, line in enumerate(lines, 1)]


def _write_convai2(dpath):
    for split, dialogues in CONVAI2.items():
        for persona, shown in CONVAI2_PERSONA_FILES.items():
            for with_cands in (True, False):
                lines = []
                for dialogue in dialogues:
                    lines += _convai2_lines(dialogue, shown, with_cands)
                suffix = '' if with_cands else '_no_cands'
                path = os.path.join(dpath, f'{split}_{persona}{suffix}.txt')
                _write_text(path, '\n'.join(lines) + '\n')


# ---------------------------------------------------------------------------------------------
# Wizard of Wikipedia
# ---------------------------------------------------------------------------------------------

#: Wikipedia-like passages: title -> sentences
WOW_PASSAGES = {
    'Gardening': [
        'Gardening is the practice of growing and cultivating plants as part of horticulture.',
        'Ornamental plants are often grown for their flowers, foliage, or overall appearance.',
    ],
    'Compost': [
        'Compost is a mixture of ingredients used as plant fertilizer.',
        'It is commonly prepared by decomposing plant and food waste.',
    ],
    'Chocolate': [
        'Chocolate is a food made from roasted and ground cacao seeds.',
        'Cacao has been cultivated by many cultures for at least three millennia.',
    ],
    'Swimming': [
        'Swimming is the self-propulsion of a person through water.',
        'Swimming is consistently among the top public recreational activities.',
    ],
    'Jazz': [
        'Jazz is a music genre that originated in New Orleans.',
        'Jazz is characterized by swing and blue notes and improvisation.',
    ],
    'Coffee': [
        'Coffee is a drink prepared from roasted coffee beans.',
        'Coffee plants are cultivated in over 70 countries.',
    ],
    'Chess': [
        'Chess is a board game for two players.',
        'Each player begins with sixteen pieces on the board.',
    ],
    'Volcano': [
        'A volcano is a rupture in the crust of a planet.',
        'Volcanoes are generally found where tectonic plates are diverging or converging.',
    ],
    'Bicycle': [
        'A bicycle is a pedal-driven, human-powered vehicle with two wheels.',
        'Bicycles were introduced in the 19th century in Europe.',
    ],
    'Penguin': [
        'Penguins are a group of aquatic flightless birds.',
        'They live almost exclusively in the Southern Hemisphere.',
    ],
}

NO_PASSAGE = 'no_passages_used'


def _wow_apprentice(text, topics):
    return {
        'speaker': '1_Apprentice',
        'text': text,
        'retrieved_topics': list(topics),
        'retrieved_passages': [{t: WOW_PASSAGES[t]} for t in topics],
    }


def _wow_wizard(text, topics, checked=None, source='chosen', candidates=None):
    """
    A wizard turn; ``checked`` is the (title, sentence index) the wizard used, or None.
    """
    if checked is None:
        checked_sentence = {NO_PASSAGE: NO_PASSAGE}
        checked_passage = {NO_PASSAGE: NO_PASSAGE}
    else:
        title, idx = checked
        key = f"{source}_{title.replace(' ', '_')}"
        checked_sentence = {f'{key}_{idx}': WOW_PASSAGES[title][idx]}
        checked_passage = {key: title}
    turn = {
        'speaker': '0_Wizard',
        'text': text,
        'checked_sentence': checked_sentence,
        'checked_passage': checked_passage,
        'retrieved_topics': list(topics),
        'retrieved_passages': [{t: WOW_PASSAGES[t]} for t in topics],
    }
    if candidates is not None:
        # ranking candidates of the valid/test files (read by the teacher with .get): the true
        # response among distractors
        turn['candidate_responses'] = candidates + [text]
    return turn


def _wow_episode(topic, persona, dialog, wizard_eval=5):
    return {
        'chosen_topic': topic,
        'persona': persona,
        'wizard_eval': wizard_eval,
        'chosen_topic_passage': WOW_PASSAGES[topic],
        'dialog': dialog,
    }


_WOW_DISTRACTORS = ['I have never tried that.', 'My favorite season is autumn.']

WIZARD_OF_WIKIPEDIA = {
    'train': [
        _wow_episode(
            'Gardening',
            'i like to grow vegetables.',
            [
                _wow_apprentice('I just started a vegetable garden this spring.', ['Compost']),
                _wow_wizard(
                    'Nice! Gardening is growing and cultivating plants, so you are a horticulturist now.',
                    ['Compost'],
                    ('Gardening', 0),
                ),
                _wow_apprentice('Ha, I guess so. What should I feed my plants?', ['Compost']),
                _wow_wizard(
                    'Try compost, a mixture of decomposed plant and food waste used as fertilizer.',
                    ['Gardening'],
                    ('Compost', 0),
                    source='partner',
                ),
            ],
        ),
        _wow_episode(
            'Chocolate',
            'i love sweets.',
            [
                _wow_wizard(
                    'Do you like chocolate? It is made from roasted and ground cacao seeds.',
                    ['Chocolate'],
                    ('Chocolate', 0),
                ),
                _wow_apprentice('I love it, especially dark chocolate.', ['Coffee']),
                _wow_wizard(
                    'People have been growing cacao for at least three thousand years.',
                    ['Coffee'],
                    ('Chocolate', 1),
                ),
            ],
            wizard_eval=4,
        ),
    ],
    'valid_random_split': [
        _wow_episode(
            'Swimming',
            'i swim every morning.',
            [
                _wow_apprentice('I swim laps before work every day.', ['Swimming']),
                _wow_wizard(
                    'Swimming is one of the most popular public recreational activities.',
                    ['Swimming'],
                    ('Swimming', 1),
                    candidates=_WOW_DISTRACTORS,
                ),
            ],
        ),
        _wow_episode(
            'Coffee',
            'i drink coffee every day.',
            [
                _wow_apprentice('I cannot start my day without a cup of coffee.', ['Coffee']),
                _wow_wizard(
                    'Me neither! Coffee plants are grown in more than 70 countries.',
                    ['Coffee'],
                    ('Coffee', 1),
                    candidates=_WOW_DISTRACTORS,
                ),
            ],
        ),
    ],
    'valid_topic_split': [
        _wow_episode(
            'Volcano',
            'i like geology.',
            [
                _wow_apprentice('I want to visit a volcano one day.', ['Volcano']),
                _wow_wizard(
                    'A volcano is a rupture in the crust of a planet, so stay safe!',
                    ['Volcano'],
                    ('Volcano', 0),
                    candidates=_WOW_DISTRACTORS,
                ),
            ],
        ),
        _wow_episode(
            'Penguin',
            'i love birds.',
            [
                _wow_apprentice('Penguins are my favorite birds.', ['Penguin']),
                _wow_wizard(
                    'They are cute! Penguins are aquatic birds that cannot fly.',
                    ['Penguin'],
                    ('Penguin', 0),
                    candidates=_WOW_DISTRACTORS,
                ),
            ],
        ),
    ],
    'test_random_split': [
        _wow_episode(
            'Jazz',
            'i play the saxophone.',
            [
                _wow_apprentice('I play saxophone in a jazz band.', ['Jazz']),
                _wow_wizard(
                    'Cool! Jazz started in New Orleans and is known for improvisation.',
                    ['Jazz'],
                    ('Jazz', 0),
                    candidates=_WOW_DISTRACTORS,
                ),
            ],
        ),
        _wow_episode(
            'Chess',
            'i play board games.',
            [
                _wow_apprentice('I am trying to get better at chess.', ['Chess']),
                _wow_wizard(
                    'Practice helps. Each player starts with sixteen pieces.',
                    ['Chess'],
                    ('Chess', 1),
                    candidates=_WOW_DISTRACTORS,
                ),
            ],
        ),
    ],
    'test_topic_split': [
        _wow_episode(
            'Bicycle',
            'i ride my bike to work.',
            [
                _wow_apprentice('I ride my bicycle to work every day.', ['Bicycle']),
                _wow_wizard(
                    'That is healthy. I do not know much more about bikes, though.',
                    ['Bicycle'],
                    None,
                    candidates=_WOW_DISTRACTORS,
                ),
            ],
        ),
        _wow_episode(
            'Penguin',
            'i visit the zoo often.',
            [
                _wow_apprentice('I saw penguins at the zoo yesterday.', ['Penguin']),
                _wow_wizard(
                    'Wild penguins live almost only in the Southern Hemisphere.',
                    ['Penguin'],
                    ('Penguin', 1),
                    candidates=_WOW_DISTRACTORS,
                ),
            ],
        ),
    ],
}


def _write_wizard_of_wikipedia(dpath):
    everything = []
    for name, episodes in WIZARD_OF_WIKIPEDIA.items():
        _write_json(os.path.join(dpath, f'{name}.json'), episodes)
        everything += episodes
    # the whole dataset, read by the default teacher for its rare-word F1 metric
    _write_json(os.path.join(dpath, 'data.json'), everything)


# ---------------------------------------------------------------------------------------------
# EmpatheticDialogues
# ---------------------------------------------------------------------------------------------

#: split -> conversations as (emotion, situation, [utterances]); the Speaker (experiencer)
#: talks first. Commas are fine here: the writer turns them into ``_comma_``.
EMPATHETIC_DIALOGUES = {
    'train': [
        (
            'proud',
            'My daughter graduated from college last week, the first in our family.',
            [
                'My daughter just graduated from college!',
                'Congratulations, you must be so proud of her.',
                'I am, she worked so hard for it.',
                'That is wonderful, she earned it.',
            ],
        ),
        (
            'lonely',
            'I moved to a new city and I do not know anyone yet.',
            [
                'I moved here a month ago and I still have no friends.',
                'That sounds hard. Have you tried joining a club?',
                'Not yet, but maybe I will look for a running group.',
            ],
        ),
    ],
    'valid': [
        (
            'afraid',
            'I heard strange noises outside my window late at night.',
            [
                'Last night I heard someone walking outside my window.',
                'That is scary, did you call anyone?',
                'I called my brother, and it turned out to be a raccoon.',
                'Oh good, at least it was harmless.',
            ],
        ),
        (
            'grateful',
            'My neighbor shoveled my driveway while I was sick.',
            [
                'My neighbor cleared the snow from my driveway while I was sick.',
                'What a kind thing to do, you have a great neighbor.',
            ],
        ),
    ],
    'test': [
        (
            'disappointed',
            'The concert I waited months for was cancelled.',
            [
                'The concert I was waiting for got cancelled.',
                'Oh no, I am sorry. Will they reschedule it?',
                'They said maybe next year.',
                'Well, at least you still have something to look forward to.',
            ],
        ),
        (
            'excited',
            'I am going on my first trip abroad next month.',
            [
                'Next month I am flying to Japan, my first trip abroad!',
                'How exciting, what do you want to see there?',
            ],
        ),
    ],
}

ED_HEADER = 'conv_id,utterance_idx,context,prompt,speaker_idx,utterance,selfeval,tags'


def _ed_field(text):
    # the teacher splits each line on ',' and turns '_comma_' back into ','
    assert '\n' not in text
    return text.replace(',', '_comma_')


def _write_empathetic_dialogues(dpath):
    csv_dir = os.path.join(dpath, 'empatheticdialogues')
    os.makedirs(csv_dir, exist_ok=True)
    hit = 0
    for split, conversations in EMPATHETIC_DIALOGUES.items():
        lines = [ED_HEADER]
        for emotion, situation, utterances in conversations:
            conv_id = f'hit:{hit}_conv:{2 * hit}'
            speakers = (100 + 2 * hit, 101 + 2 * hit)  # two crowdworkers, alternating
            hit += 1
            for idx, utterance in enumerate(utterances, 1):
                fields = [
                    conv_id,
                    str(idx),
                    emotion,
                    _ed_field(situation),
                    str(speakers[(idx - 1) % 2]),
                    _ed_field(utterance),
                    '5|5|5_5|5|5',  # the self-evaluation field; the teacher ignores it
                    '',  # tags
                ]
                lines.append(','.join(fields))
        _write_text(os.path.join(csv_dir, f'{split}.csv'), '\n'.join(lines) + '\n')


# ---------------------------------------------------------------------------------------------
# BlendedSkillTalk
# ---------------------------------------------------------------------------------------------


def _bst_episode(
    context_dataset, additional_context, personas, seed, dialog, label_candidates=None
):
    """
    A raw BST conversation; ``dialog`` alternates free (0) and guided (1) worker messages and
    ``seed`` is the (free, guided) pair of utterances shown before the conversation.
    """
    assert len(dialog) % 2 == 0
    suggestions, chosen = [], []
    for i, text in enumerate(dialog):
        if i % 2 == 0:
            suggestions.append({})
            chosen.append('')
        else:
            # the three single-task models' suggestions shown to the guided worker
            suggestions.append(
                {
                    'convai2': 'i like to spend time outside .',
                    'empathetic_dialogues': 'That sounds really nice.',
                    'wizard_of_wikipedia': 'I read that it is very popular.',
                }
            )
            chosen.append('')
    episode = {
        'personas': personas,
        'context_dataset': context_dataset,
        'additional_context': additional_context,
        'free_turker_utterance': seed[0],
        'guided_turker_utterance': seed[1],
        'dialog': [[i % 2, text] for i, text in enumerate(dialog)],
        'suggestions': suggestions,
        'chosen_suggestions': chosen,
    }
    if label_candidates is not None:
        # one candidate list per guided response, the true response among distractors
        episode['label_candidates'] = [
            label_candidates + [dialog[i]] for i in range(1, len(dialog), 2)
        ]
    return episode


_BST_DISTRACTORS = ['I have a blue car.', 'My brother lives in Ohio.']

BLENDED_SKILL_TALK = {
    'train': [
        _bst_episode(
            'wizard_of_wikipedia',
            'Hiking',
            [
                ['i work in an office.', 'i want to travel more.'],
                ['i love the outdoors.', 'i have a golden retriever.'],
            ],
            ('Do you go outside much?', 'Every weekend, I love hiking trails.'),
            [
                'I should hike more, I sit at a desk all week.',
                'You should! My dog and I found a great trail by the lake.',
                'Is it a hard trail for beginners?',
                'Not at all, it is flat and only three miles long.',
            ],
        ),
        _bst_episode(
            'empathetic_dialogues',
            'I failed my driving test today.',
            [
                ['i am learning to drive.', 'i am seventeen.'],
                ['i am a driving instructor.', 'i like jazz music.'],
            ],
            ('I failed my driving test today.', 'Oh no, what happened?'),
            [
                'I got nervous at the parallel parking part.',
                'That is the hardest part for most people, you will get it next time.',
            ],
        ),
    ],
    'valid': [
        _bst_episode(
            'convai2',
            '',
            [
                ['i bake cakes.', 'i have two kids.'],
                ['i love baking cookies.', 'i live on a farm.'],
            ],
            ('What did you do today?', 'I baked cookies all morning.'),
            [
                'Yum, what kind of cookies?',
                'Oatmeal raisin, with eggs from my own chickens.',
            ],
            label_candidates=_BST_DISTRACTORS,
        ),
        _bst_episode(
            'wizard_of_wikipedia',
            'Astronomy',
            [
                ['i like science.', 'i stay up late.'],
                ['i own a telescope.', 'i am a night owl.'],
            ],
            ('Did you see the moon last night?', 'Yes, through my telescope!'),
            [
                'That must have been amazing, what else can you see?',
                'On clear nights I can see the rings of Saturn.',
            ],
            label_candidates=_BST_DISTRACTORS,
        ),
    ],
    'test': [
        _bst_episode(
            'empathetic_dialogues',
            'My best friend moved away.',
            [
                ['i am a student.', 'i like to paint.'],
                ['i write letters to friends.', 'i drink tea every day.'],
            ],
            ('My best friend moved to another country.', 'I am sorry, that is hard.'),
            [
                'Yes, I miss her a lot already.',
                'Maybe you could write each other letters, I love doing that.',
            ],
            label_candidates=_BST_DISTRACTORS,
        ),
        _bst_episode(
            'convai2',
            '',
            [
                ['i play soccer.', 'i like pizza.'],
                ['i coach a youth team.', 'i have a pet turtle.'],
            ],
            ('Do you play any sports?', 'I coach a soccer team for kids.'),
            [
                'I play soccer too, what position do your kids like?',
                'Most of them want to be the goalkeeper, oddly enough.',
            ],
            label_candidates=_BST_DISTRACTORS,
        ),
    ],
}


def _write_blended_skill_talk(dpath):
    # ParlAI's own conversion of the raw JSON into the ParlAIDialogTeacher text files
    from parlai.tasks.blended_skill_talk.build import _create_parlai_format

    for split, episodes in BLENDED_SKILL_TALK.items():
        _write_json(os.path.join(dpath, f'{split}.json'), episodes)
    with contextlib.redirect_stdout(io.StringIO()):  # it prints a line per file
        _create_parlai_format(dpath)


_WRITERS = {
    'dailydialog': _write_dailydialog,
    'convai2': _write_convai2,
    'wizard_of_wikipedia': _write_wizard_of_wikipedia,
    'empathetic_dialogues': _write_empathetic_dialogues,
    'blended_skill_talk': _write_blended_skill_talk,
}


def write_casual_fixtures(datapath, tasks=CASUAL_TASKS):
    """
    Write the tiny datasets of ``tasks`` under ``datapath`` and mark each one built.

    :param datapath: the ParlAI ``--datapath`` to write under.
    :param tasks: names among :data:`CASUAL_TASKS` (an iterable, or one comma-separated string).
    :return: task -> the folder written, ``<datapath>/<the task's folder>``.
    :raises FileExistsError: if a task's folder holds a built dataset this module did not write
        (a real download is never overwritten).
    """
    from parlai.core import build_data

    if isinstance(tasks, str):
        tasks = [t for t in tasks.split(',') if t]
    unknown = [t for t in tasks if t not in _WRITERS]
    if unknown:
        raise ValueError(f'no casual fixture for {unknown}; known tasks: {list(CASUAL_TASKS)}')
    written = {}
    for task in tasks:
        folder, version = TASK_FOLDERS[task]
        dpath = os.path.join(datapath, folder)
        if build_data.built(dpath) and not os.path.isfile(os.path.join(dpath, FIXTURE_MARKER)):
            raise FileExistsError(
                f'{dpath} already holds a built {task} dataset that is not a casual fixture; '
                'refusing to overwrite it. Use another --datapath.'
            )
        os.makedirs(dpath, exist_ok=True)
        _write_text(os.path.join(dpath, FIXTURE_MARKER), 'tiny hand-written fixture\n')
        _WRITERS[task](dpath)
        build_data.mark_done(dpath, version_string=version)
        written[task] = dpath
    return written
