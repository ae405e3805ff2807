"""
``python -m parlai_prosocial.export -mf MODEL_FILE --out DIR``: see :mod:`parlai_prosocial.export`.
"""

import argparse
import sys


def parser():
    p = argparse.ArgumentParser(
        prog='python -m parlai_prosocial.export',
        description='Write a ParlAI model (Prost, transformer/generator, Canary, COSMO, '
        'hugging_face/t5) as a folder that transformers loads: weights, tokenizer with '
        'ParlAI\'s ids, model card, and the helper that builds the input from a dialogue.',
    )
    p.add_argument('-mf', '--model-file', required=True,
                   help='the ParlAI model file (its .opt and .dict beside it), or a zoo name '
                   '(zoo:prost/model, zoo:canary/model)')
    p.add_argument('--out', required=True, help='the folder to write (new, or empty)')
    p.add_argument('--overwrite', action='store_true',
                   help='replace an existing non-empty --out (only once the export succeeded)')
    p.add_argument('--report', metavar='DIR',
                   help='a prosocial report folder of this model (python -m '
                   'parlai_prosocial.report --report-dir): its numbers go into the card')
    p.add_argument('--license', help='the card\'s license (default: the base model\'s, else '
                   '"other")')
    p.add_argument('-dp', '--datapath', help='ParlAI\'s data folder, where zoo models are')
    p.add_argument('--debug', action='store_true', help='show the traceback of an error')
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    from parlai_prosocial.errors import ProsocialError, one_line

    from . import export_model

    try:
        summary = export_model(args.model_file, args.out, overwrite=args.overwrite,
                               report_dir=args.report, datapath=args.datapath,
                               license=args.license)
    except ProsocialError as error:
        if args.debug:
            raise
        sys.stderr.write(one_line(error) + '\n')
        return 1
    print(f'{summary["out"]}: {summary["architecture"]} ({", ".join(summary["files"])}) '
          f'in {summary["seconds"]:.1f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
