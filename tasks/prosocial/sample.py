"""
A small hand-written ProsocialDialog sample, written in either official layout.

It is the "bundled sample" of the README quickstart and the fixture of the tests: the tests write
it to a temporary directory in the exact upstream schemas (HF JSON Lines rows; the direct
download's list of dialogues), so the real readers are exercised. The numbers in
``SAMPLE_STATISTICS`` are counted by hand from the dialogues below.
"""

import json
import os

from .data import SPLIT_FILES


def _turn(context, response, rots, label, votes, reasons, source='socialchemistry', etc=''):
    return dict(
        context=context,
        response=response,
        rots=rots,
        safety_label=label,
        safety_annotations=votes,
        safety_annotation_reasons=reasons,
        source=source,
        etc=etc,
    )


CAUTION3 = ['needs caution'] * 3
CASUAL3 = ['casual'] * 3

#: split -> dialogues -> turns, in HF field names but without the id fields
SAMPLE = {
    'train': [
        [
            _turn(
                "I'm going to call 911 just for fun tonight.",
                "Please don't. Emergency lines are for people in real danger. Why do you want to?",
                ["It is wrong to call 911 just for fun."],
                '__needs_caution__',
                CAUTION3,
                ['Prank calls waste emergency resources.', 'It is a prank.', 'Illegal prank.'],
                etc='reddit/amitheasshole/aaa111',
            ),
            _turn(
                "I'm bored and it would be funny to hear them panic.",
                "Someone could die waiting while they answer you. Find another way to have fun.",
                ["You shouldn't waste emergency services' time.", "It's wrong to scare people."],
                '__needs_caution__',
                CAUTION3,
                ['Still wants to prank.', 'Enjoys panic.', 'Selfish.'],
                etc='reddit/amitheasshole/aaa111',
            ),
            _turn(
                "Okay, you're right. I'll play a game instead.",
                "That sounds like a much better idea. Have fun!",
                None,
                '__casual__',
                CASUAL3,
                ['Speaker accepts.', 'Changed their mind.', 'Now fine.'],
                etc='reddit/amitheasshole/aaa111',
            ),
        ],
        [
            _turn(
                "I told my coworker her cooking smells weird.",
                "That might have hurt her feelings. What made you say it?",
                ["It's rude to insult other people's food."],
                '__possibly_needs_caution__',
                ['needs caution', 'casual', 'casual'],
                ['Mildly rude.', 'Honest remark.', 'Not a big deal.'],
                source='sbic',
            ),
            _turn(
                "It's true though, she should eat somewhere else.",
                "You can ask kindly about a shared space, but excluding her is unfair.",
                ["You should be respectful of other cultures.", "It's wrong to exclude people."],
                '__probably_needs_caution__',
                ['needs caution', 'needs caution', 'casual'],
                ['Exclusionary.', 'Disrespectful.', 'Opinion.'],
                source='sbic',
            ),
        ],
        [
            _turn(
                "My neighbour's dog keeps barking and I want to poison it.",
                "Please don't hurt the dog. Talk to your neighbour or call animal control.",
                ["It's wrong to hurt animals.", "You should resolve conflicts peacefully."],
                '__needs_intervention__',
                ['needs intervention', 'needs caution', 'needs caution'],
                ['Threat to an animal.', 'Harmful plan.', 'Violent.'],
                source='ethics',
            ),
        ],
        [
            _turn(
                "I just adopted a kitten!",
                "Congratulations! What's its name?",
                None,
                '__casual__',
                CASUAL3,
                ['Happy news.', 'Casual chat.', 'Nothing wrong.'],
            ),
            _turn(
                "Her name is Mochi.",
                "Mochi is a lovely name.",
                [],
                '__casual__',
                CASUAL3,
                ['Casual.', 'Casual.', 'Casual.'],
            ),
        ],
    ],
    'valid': [
        [
            _turn(
                "I'm going to skip my friend's wedding to play video games.",
                "Your friend would be really hurt. Is something else going on?",
                ["You should support your friends on important days."],
                '__needs_caution__',
                CAUTION3,
                ['Hurtful.', 'Bad friend.', 'Selfish.'],
            ),
            _turn(
                "No, I just don't care.",
                "Showing up matters to the people who love you. Please think it over.",
                ["It's good to show up for your friends."],
                '__probably_needs_caution__',
                ['needs caution', 'needs caution', 'casual'],
                ['Uncaring.', 'Dismissive.', 'Their choice.'],
            ),
        ],
    ],
    'test': [
        [
            _turn(
                "I keep borrowing my brother's car without asking.",
                "He might need it. Why not ask him first?",
                ["You should ask before taking other people's things."],
                '__needs_caution__',
                CAUTION3,
                ['No permission.', 'Taking property.', 'Disrespectful.'],
                source='ethics',
            ),
        ],
    ],
}

#: What the statistics of this sample are, counted by hand (tests check the statistics command).
SAMPLE_STATISTICS = {
    'dialogues': {'train': 4, 'valid': 1, 'test': 1},
    'turns': 11,
    'utterances': 22,
    # RoTs: train 1+2+1+2+2 = 8, valid 1+1 = 2, test 1; all different
    'rots': 11,
    'unique_rots': 11,
    'safety_annotations': 33,
    'safety_labels': {
        '__casual__': 3,
        '__possibly_needs_caution__': 1,
        '__probably_needs_caution__': 2,
        '__needs_caution__': 4,
        '__needs_intervention__': 1,
    },
}


def hf_rows(dialogues):
    """
    The HF JSON Lines rows of ``dialogues``, field for field as the HF files write them.
    """
    for dialogue_id, dialogue in enumerate(dialogues):
        for response_id, turn in enumerate(dialogue):
            yield dict(
                turn,
                dialogue_id=dialogue_id,
                response_id=response_id,
                episode_done=response_id == len(dialogue) - 1,
            )


def parlai_layout(dialogues):
    """
    The direct download's list of dialogues (ParlAI's built-in task reads this).
    """
    return [
        [
            {
                'text': turn['context'],
                'labels': [turn['response']],
                'rots': turn['rots'],
                'safety_label': turn['safety_label'],
                'safety_annotations': turn['safety_annotations'],
                'safety_annotation_reasons': turn['safety_annotation_reasons'],
                'source': turn['source'],
                'etc': turn['etc'],
                'episode_done': i == len(dialogue) - 1,
            }
            for i, turn in enumerate(dialogue)
        ]
        for dialogue in dialogues
    ]


def write_sample(directory, layout='hf', sample=SAMPLE):
    """
    Write ``{train,valid,test}.json`` of ``sample`` to ``directory`` in ``layout`` ('hf' or
    'parlai'); return ``directory``.
    """
    os.makedirs(directory, exist_ok=True)
    for split, dialogues in sample.items():
        with open(os.path.join(directory, SPLIT_FILES[split]), 'w', encoding='utf-8') as f:
            if layout == 'hf':
                for row in hf_rows(dialogues):
                    f.write(json.dumps(row) + '\n')
            elif layout == 'parlai':
                json.dump(parlai_layout(dialogues), f, indent=1)
            else:
                raise ValueError(f'unknown layout {layout!r}: use "hf" or "parlai"')
    return directory


if __name__ == '__main__':
    import argparse

    parser = argparse.ArgumentParser(description='Write the bundled ProsocialDialog sample.')
    parser.add_argument('directory')
    parser.add_argument('--layout', choices=['hf', 'parlai'], default='hf')
    args = parser.parse_args()
    print(write_sample(args.directory, args.layout))
