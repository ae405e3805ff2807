"""
``python -m parlai_prosocial.samples NAME DIRECTORY``: copy a bundled sample into DIRECTORY.
"""

import argparse

from parlai_prosocial.samples import SAMPLES, write_sample

parser = argparse.ArgumentParser(
    prog='python -m parlai_prosocial.samples', description='Copy a bundled sample into DIRECTORY.'
)
parser.add_argument('name', choices=SAMPLES)
parser.add_argument('directory')
args = parser.parse_args()
print(write_sample(args.name, args.directory))
