"""
A small hand-written Topical-Chat sample, in the exact schema of the release files.

It is the fixture of the tests: :func:`write_sample` writes the five files (``train.json``,
``valid_freq.json``, ``valid_rare.json``, ``test_freq.json``, ``test_rare.json``) to a directory,
each one JSON object keyed by conversation id, laid out as the release lays them out (2-space
indent), so the real reader is exercised. The conversations are made up; they cover odd and even
numbers of turns, several knowledge sources per turn, an unrated turn (``"turn_rating": ""``) and
messages with trailing whitespace and an inner newline, as the release has them.

    python -m parlai_prosocial.tasks.topical_chat.sample DIR
"""

import json
import os


def _turn(agent, message, sentiment='Neutral', knowledge_source=('FS1',), turn_rating='Good'):
    return {
        'message': message,
        'agent': agent,
        'sentiment': sentiment,
        'knowledge_source': list(knowledge_source),
        'turn_rating': turn_rating,
    }


def _a1(message, *args, **kwargs):
    return _turn('agent_1', message, *args, **kwargs)


def _a2(message, *args, **kwargs):
    return _turn('agent_2', message, *args, **kwargs)


def _conversation(url, config, content, ratings=('Good', 'Excellent')):
    return {
        'article_url': url,
        'config': config,
        'content': content,
        'conversation_rating': {'agent_1': ratings[0], 'agent_2': ratings[1]},
    }


_WAPO = 'https://www.washingtonpost.com/news/{}/'

#: file name -> {conversation id: conversation}, as the release files hold them
SAMPLE = {
    'train.json': {
        # 5 turns: ends with an agent_1 turn that nobody answers
        't_00000000-0000-4000-8000-000000000001': _conversation(
            _WAPO.format('sports/wp/2018/01/01/football'),
            'A',
            [
                _a1('Hi! Do you watch football?', 'Curious to dive deeper', ['FS1'], 'Good'),
                _a2(
                    'Yes, every Sunday. Did you know the yellow first-down line won an Emmy? ',
                    'Surprised',
                    ['FS1', 'Personal Knowledge'],
                    'Excellent',
                ),
                _a1('I did not! That line changed how we watch.', 'Happy', ['FS1'], 'Good'),
                _a2('It really did. Who is your team?', 'Curious to dive deeper', ['FS2'], ''),
                _a1('The Ravens. Nice chatting with you!', 'Happy', ['Personal Knowledge']),
            ],
        ),
        # 4 turns
        't_00000000-0000-4000-8000-000000000002': _conversation(
            _WAPO.format('music/wp/2018/02/02/rock'),
            'B',
            [
                _a1('Hello! Do you like rock music?', 'Happy', ['FS3']),
                _a2('I love it. Whitesnake had over 50 members!', 'Surprised', ['FS3']),
                _a1(
                    'That is a lot of\nmembers.  Why so many?',
                    'Curious to dive deeper',
                    ['FS3', 'AS1'],
                    'Passable',
                ),
                _a2('Maybe the tour life was hard.', 'Neutral', ['AS1', 'AS2', 'AS3', 'AS4']),
            ],
            ratings=('Excellent', 'Good'),
        ),
        # 3 turns
        't_00000000-0000-4000-8000-000000000003': _conversation(
            _WAPO.format('tv/wp/2018/03/03/simpsons'),
            'D',
            [
                _a1('Do you watch The Simpsons?', 'Neutral', ['FS2']),
                _a2(
                    'Sometimes. Homer held 188 jobs in 400 episodes. \n',
                    'Happy',
                    ['FS2'],
                    'Not Good',
                ),
                _a1('\tWow, I thought he only worked at the plant.', 'Surprised', ['FS2']),
            ],
            ratings=('Passable', 'Passable'),
        ),
    },
    'valid_freq.json': {
        't_00000000-0000-4000-8000-000000000011': _conversation(
            _WAPO.format('tech/wp/2018/04/04/phones'),
            'C',
            [
                _a1('Hey, is your phone new?', 'Curious to dive deeper', ['FS1']),
                _a2('No, it is four years old.', 'Neutral', ['Personal Knowledge']),
                _a1('Mine too. Batteries last longer now.', 'Neutral', ['FS1', 'FS2']),
                _a2('True, and the cameras are better.', 'Happy', ['FS2'], 'Excellent'),
            ],
        ),
    },
    'valid_rare.json': {
        't_00000000-0000-4000-8000-000000000012': _conversation(
            _WAPO.format('fashion/wp/2018/05/05/hats'),
            'A',
            [
                _a1('Do you wear hats?', 'Neutral', ['FS1']),
                _a2('Only in winter.  It gets cold here.', 'Sad', ['FS1'], 'Poor'),
                _a1('Top hats were once a status symbol.', 'Surprised', ['FS1']),
            ],
        ),
    },
    'test_freq.json': {
        't_00000000-0000-4000-8000-000000000021': _conversation(
            _WAPO.format('books/wp/2018/06/06/fantasy'),
            'B',
            [
                _a1('Do you read fantasy?', 'Curious to dive deeper', ['FS3']),
                _a2('Yes, mostly modern fantasy.', 'Happy', ['FS3']),
            ],
        ),
    },
    'test_rare.json': {
        't_00000000-0000-4000-8000-000000000022': _conversation(
            _WAPO.format('politics/wp/2018/07/07/space'),
            'D',
            [
                _a1('Would you go to Mars?', 'Curious to dive deeper', ['AS1']),
                _a2('Not for a one-way trip!', 'Fearful', ['AS1']),
                _a1('Fair. The trip takes about seven months.', 'Neutral', ['AS2']),
            ],
        ),
    },
}


def write_sample(directory, sample=SAMPLE):
    """
    Write the files of ``sample`` (file name -> conversations) to ``directory``; return it.
    """
    os.makedirs(str(directory), exist_ok=True)
    for name, conversations in sample.items():
        with open(os.path.join(str(directory), name), 'w', encoding='utf-8') as f:
            json.dump(conversations, f, indent=2)
    return str(directory)


if __name__ == '__main__':
    import argparse

    parser = argparse.ArgumentParser(description='Write the Topical-Chat test sample.')
    parser.add_argument('directory')
    print(write_sample(parser.parse_args().directory))
