"""
``python -m parlai_prosocial.parlai_fixes``: each fix, when it acts, and the hash of each of its
targets in the installed ParlAI beside the 1.7.2 one it replaces.
"""

from parlai_prosocial.parlai_fixes import FIXES
from parlai_prosocial.parlai_internals import source_hash

for fix in FIXES:
    for name, expected in fix.replaces.items():
        print(f'{fix.name} ({fix.acts_on}): {name} {source_hash(name)} (1.7.2: {expected})')
