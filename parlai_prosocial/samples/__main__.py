"""
``python -m parlai_prosocial.samples NAME DIRECTORY [--overwrite]``: copy a bundled sample into
DIRECTORY; a file of yours in the way stops it (one line) unless ``--overwrite``.
"""

from parlai_prosocial.command_line import OneLineArgumentParser
from parlai_prosocial.samples import SAMPLES, write_sample


def main(argv=None):
    parser = OneLineArgumentParser(
        prog='python -m parlai_prosocial.samples',
        description='Copy a bundled sample into DIRECTORY (a file already there that this '
        'command did not write stops it, unless --overwrite).',
    )
    parser.add_argument('name', choices=SAMPLES, metavar='NAME', help=', '.join(SAMPLES))
    parser.add_argument('directory', metavar='DIRECTORY')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace files already in DIRECTORY')
    args = parser.parse_args(argv)
    print(write_sample(args.name, args.directory, overwrite=args.overwrite))


if __name__ == '__main__':
    main()
