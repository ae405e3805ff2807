"""
A small hand-written SODA sample, written as parquet in the released files' exact schema.

No real SODA rows are available offline; the first training row is the example the paper prints
in full (Table 1, Madeleine and her coach), the others are written here to cover what the teachers
must handle: a PersonY, validation answers that are not "Yes" (so the filters remove rows), a
speaker who speaks twice in a row, three speakers, a null PersonY/PersonZ. The columns, their
order and their arrow types are ``data.SCHEMA`` (the dataset card's fields: strings, lists of
strings for ``dialogue`` and ``speakers``, int64 ``original_index``; ``PersonY``/``PersonZ`` may be
null), and ``write_sample`` writes small row groups so that the samples have several chunks.
"""

import os

import pyarrow as pa
import pyarrow.parquet as pq

from .data import SCHEMA, SPLIT_FILES


def _row(
    head,
    relation,
    tail,
    literal,
    narrative,
    turns,
    person_x,
    person_y=None,
    person_z=None,
    original_index=0,
    split='train',
    answers=('Yes', 'Yes', 'Yes', 'Yes'),
):
    head_answer, pmi_head_answer, relation_tail_answer, pmi_relation_tail_answer = answers
    return {
        'head': head,
        'relation': relation,
        'tail': tail,
        'literal': literal,
        'narrative': narrative,
        'dialogue': [utterance for _speaker, utterance in turns],
        'speakers': [speaker for speaker, _utterance in turns],
        'PersonX': person_x,
        'PersonY': person_y,
        'PersonZ': person_z,
        'original_index': original_index,
        'split': split,
        'head_answer': head_answer,
        'pmi_head_answer': pmi_head_answer,
        'relation_tail_answer': relation_tail_answer,
        'pmi_relation_tail_answer': pmi_relation_tail_answer,
    }


#: split -> rows, in the card's field names
SAMPLE = {
    'train': [
        # SODA paper, Table 1
        _row(
            'PersonX moves a step closer to the goal',
            'xNeed',
            'to take the first step',
            'Madeleine took the first step. Madeleine moves a step closer to the goal.',
            "Madeleine took the first step towards her goal, and with her coach's encouraging "
            "words, she moves one step closer.",
            [
                (
                    'Madeleine',
                    'Hey coach, I wanted to talk to you about my performance today. I was really '
                    "pushing myself and I think I did pretty well. But I'm still not quite where I "
                    'want to be.',
                ),
                (
                    'Coach',
                    "Well Madeleine, you're progressing nicely. You've come a long way since we "
                    'first started working together. But if you want to reach your full '
                    "potential, there's still some work to be done.",
                ),
                (
                    'Madeleine',
                    "I know that. And I'm willing to put in the work. It's just that sometimes I "
                    "feel like I'm not making as much progress as I should be. Maybe I'm not "
                    'training hard enough? Or maybe my technique is off?',
                ),
                (
                    'Coach',
                    "It could be a number of things, Madeleine. But don't worry, we'll figure it "
                    "out together. Let's just keep working hard and see how things go.",
                ),
                ('Madeleine', 'Alright, coach. Thanks for the talk.'),
                ('Coach', 'No problem. See you at practice tomorrow.'),
            ],
            'Madeleine',
            original_index=1001,
        ),
        _row(
            'PersonX lends PersonY a hand',
            'xAttr',
            'helpful',
            'Jamal is helpful. Jamal lends Priya a hand.',
            'Jamal noticed Priya struggling with the boxes in the hallway and offered to carry '
            'half of them up the stairs.',
            [
                ('Jamal', 'Those look heavy. Want me to take some?'),
                ('Priya', "Oh, would you? I've been going up and down all morning."),
                ('Jamal', "Sure, I'll grab the big ones."),
                ('Priya', 'Thank you so much, you really saved me.'),
            ],
            'Jamal',
            person_y='Priya',
            original_index=1002,
            answers=('Unknown', 'Yes', 'Yes', 'Yes'),
        ),
        _row(
            'PersonX forgets the keys',
            'xReact',
            'embarrassed',
            'Lena forgets the keys. Now Lena feels embarrassed.',
            'Lena locked herself out of the flat and had to call her roommate Sam at work.',
            [
                ('Lena', 'Sam, I am so sorry to call you at work.'),
                ('Lena', 'I locked myself out again.'),
                ('Sam', "Again? Okay, I'll come by during lunch."),
                ('Lena', "You're the best. I owe you one."),
            ],
            'Lena',
            original_index=1003,
            answers=('Yes', 'Yes', 'No', 'Yes'),
        ),
        _row(
            'PersonX plans a surprise party',
            'xIntent',
            'to make PersonY happy',
            'Omar plans a surprise party because Omar wants to make Grace happy.',
            "Omar and Ines secretly planned a surprise party for their friend Grace's birthday.",
            [
                ('Omar', 'Is everything ready for tonight?'),
                ('Ines', 'The cake is hidden in my car.'),
                ('Grace', 'Hey you two, what are you whispering about?'),
                ('Omar', 'Nothing! Just homework.'),
            ],
            'Omar',
            person_y='Grace',
            person_z='Ines',
            original_index=1004,
        ),
        _row(
            'PersonX asks for a raise',
            'xWant',
            'to earn more money',
            'Noah asks for a raise. Now Noah wants to earn more money.',
            'After two years of extra shifts, Noah finally asked his manager for a raise.',
            [
                ('Noah', 'Do you have a minute? I wanted to talk about my salary.'),
                ('Manager', 'Of course, have a seat.'),
                ('Noah', "I've taken on a lot more responsibility this year."),
                ('Manager', "You have, and it hasn't gone unnoticed. Let's see what we can do."),
            ],
            'Noah',
            original_index=1005,
            answers=('Yes', 'Unknown', 'Yes', 'No'),
        ),
    ],
    'valid': [
        _row(
            'PersonX wins the race',
            'xReact',
            'proud',
            'Aiko wins the race. Now Aiko feels proud.',
            'Aiko crossed the finish line first at the city marathon, and her brother was waiting '
            'for her.',
            [
                ('Aiko', 'I did it! I actually won!'),
                ('Brother', "I knew you could. I'm so proud of you."),
                ('Aiko', "I couldn't have trained without your help."),
            ],
            'Aiko',
            original_index=2001,
            split='valid',
        ),
        _row(
            'PersonX breaks the vase',
            'xEffect',
            'apologizes',
            "Leo breaks the vase. Now Leo apologizes.",
            "Leo knocked over his grandmother's favourite vase while playing ball inside.",
            [
                ('Leo', 'Grandma, I broke your vase. I am really sorry.'),
                ('Grandma', 'Thank you for telling me the truth, dear.'),
                ('Leo', 'Can I help you glue it back together?'),
                ('Grandma', "Let's try it together after dinner."),
            ],
            'Leo',
            original_index=2002,
            split='valid',
            answers=('Yes', 'Yes', 'Unknown', 'Yes'),
        ),
    ],
    'test': [
        _row(
            'PersonX gets a new puppy',
            'xReact',
            'excited',
            'Maya gets a new puppy. Now Maya feels excited.',
            'Maya brought home a golden retriever puppy and video-called her friend Ben right '
            'away.',
            [
                ('Maya', 'Ben, look who is here!'),
                ('Ben', "No way, you got the puppy! What's his name?"),
                ('Maya', 'Biscuit. He already chewed my shoe.'),
                ('Ben', "Ha, welcome to dog ownership."),
            ],
            'Maya',
            person_y='Ben',
            original_index=3001,
            split='test',
        ),
        _row(
            'PersonX studies all night',
            'xNeed',
            'to buy coffee',
            'Ravi bought coffee. Ravi studies all night.',
            'Ravi stayed up all night studying for his chemistry final with a thermos of coffee.',
            [
                ('Ravi', "Mom, I'm heading out for the exam."),
                ('Mom', 'Did you sleep at all?'),
                ('Ravi', 'Not really, but I feel ready.'),
                ('Mom', 'Good luck, and come straight home to rest.'),
            ],
            'Ravi',
            original_index=3002,
            split='test',
        ),
    ],
}


def table_of(rows):
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def write_split(path, rows, row_group_size=2):
    pq.write_table(table_of(rows), path, row_group_size=row_group_size)
    return path


def write_sample(directory, row_group_size=2, sample=SAMPLE):
    """
    Write ``{train,valid,test}.parquet`` of ``sample`` to ``directory``; return ``directory``.
    """
    os.makedirs(directory, exist_ok=True)
    for split, rows in sample.items():
        write_split(os.path.join(directory, SPLIT_FILES[split]), rows, row_group_size)
    return directory


if __name__ == '__main__':
    import argparse

    parser = argparse.ArgumentParser(description='Write the bundled SODA sample as parquet.')
    parser.add_argument('directory')
    parser.add_argument('--row-group-size', type=int, default=2)
    args = parser.parse_args()
    print(write_sample(args.directory, args.row_group_size))
