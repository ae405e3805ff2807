"""
Install a local Canary checkpoint as ``zoo:canary/model`` (no network)::

    python -m parlai_prosocial.zoo.canary.install canary.tar.gz     # the release: sha256-checked
    python -m parlai_prosocial.zoo.canary.install /runs/canary      # a dir with model, model.opt
    python -m parlai_prosocial.zoo.canary.install /runs/best --symlink --t5-model-arch /models/t5

then ``parlai eval_model -mf zoo:canary/model ...`` (add ``--datapath D`` if you installed into
another datapath). See :mod:`parlai_prosocial.zoo.canary.build` for the rules.
"""

import argparse


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m parlai_prosocial.zoo.canary.install',
        description='Install a local Canary checkpoint as zoo:canary/model.',
    )
    parser.add_argument(
        'path',
        help='the released canary.tar.gz (sha256-checked), a directory holding "model" and '
        '"model.opt", or a ParlAI model file with its .opt beside it',
    )
    parser.add_argument(
        '--datapath', '-dp', default=None, help="ParlAI's datapath (default: ParlAI's default)"
    )
    parser.add_argument(
        '--t5-model-arch',
        default=None,
        help='write this T5 (a local directory with config.json and the tokenizer, or a hub '
        'name) into the installed model.opt, e.g. to run the released model offline',
    )
    parser.add_argument(
        '--symlink',
        action='store_true',
        help='link the model weights instead of copying them (directories and model files)',
    )
    args = parser.parse_args(argv)

    datapath = args.datapath
    if datapath is None:
        from parlai.core.agents import add_datapath_and_model_args

        opt = {}
        add_datapath_and_model_args(opt)
        datapath = opt['datapath']

    from .build import install

    dpath = install(args.path, datapath, t5_model_arch=args.t5_model_arch, symlink=args.symlink)
    print(f'installed: {dpath}/model  (use -mf zoo:canary/model --datapath {datapath})')
    return dpath


if __name__ == '__main__':
    main()
