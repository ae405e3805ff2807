"""
Install a Prost checkpoint as ``zoo:prost/model``::

    python -m parlai_prosocial.zoo.prost.install DIR/model [--datapath DATAPATH]

``DIR/model`` is a ParlAI model file of ``-m prost`` (with its ``.opt`` and ``.dict``), or a
directory holding ``model``. Without ``--datapath`` the install goes where ``parlai`` looks:
``$PARLAI_DATAPATH``, else ParlAI's default data folder. See :mod:`.model`.
"""

import argparse
import sys

from .model import install


def default_datapath():
    from parlai.core.params import ParlaiParser

    return ParlaiParser(True, False).parse_args([])['datapath']


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m parlai_prosocial.zoo.prost.install',
        description='Install a Prost checkpoint you trained or were given as zoo:prost/model.',
    )
    parser.add_argument('path', help='model file (with .opt and .dict) or a directory with `model`')
    parser.add_argument(
        '--datapath', default=None, help="ParlAI's data folder (default: where parlai looks)"
    )
    args = parser.parse_args(argv)
    datapath = args.datapath or default_datapath()
    # a ProstCheckpointNotFound is one line at the command line (parlai_prosocial.errors)
    model_file = install(args.path, datapath)
    print(f'installed {model_file}; use it with -mf zoo:prost/model --datapath {datapath}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
