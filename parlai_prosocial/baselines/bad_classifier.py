"""
Table 2's BAD classifier row (App. C.1: "a BERT-based classifier pre-trained on the bot-adversarial
dialogue safety (BAD) dataset", fine-tuned on our safety labels), its zero-shot extension, and the
tiny offline stand-in of the BAD classifier for tests and the CPU-scale recipe.

* The row: ``parlai train_model -o prosocial/table2_bad_classifier -mf MODEL`` fine-tunes ParlAI's
  ``zoo:bot_adversarial_dialogue/multi_turn/model`` (a ``transformer/classifier`` with classes
  ``__notok__ __ok__``) on ``prosocial:safety_classification`` with our five labels; ``-m
  bad_classifier`` (:mod:`parlai_prosocial.agents.bad_classifier`) gives it a new output layer.
* The zero-shot extension (not a Table 2 row): the un-fine-tuned classifier evaluated on our turns
  with their labels mapped to its two classes (``formats.OK_NOTOK``, ``prosocial:ok_notok_safety``)::

      parlai eval_model -mf zoo:bot_adversarial_dialogue/multi_turn/model \\
          -t prosocial:ok_notok_safety -dt test

* The stand-in (:func:`build_tiny_bad_classifier`): a ``transformer/classifier`` with the BAD
  classifier's architecture options (read from the preset) at tiny sizes, trained for a few epochs
  on the bundled sample's turns with the two BAD classes, written as a model file to pass as
  ``--init-model``. Not the BAD classifier, only its agent type, classes and checkpoint layout.
"""

import os

from parlai_prosocial.formats import BAD_CLASSES

PRESET = 'prosocial/table2_bad_classifier'

#: ``-t`` of the zero-shot evaluation: the five labels mapped to BAD's two classes
OK_NOTOK_TASK = 'prosocial:ok_notok_safety'

#: the preset's options that define the architecture and the tokenizer (the stand-in keeps them)
ARCHITECTURE_OPTIONS = (
    'variant', 'n_layers', 'n_heads', 'embedding_size', 'ffn_size', 'n_positions', 'n_segments',
    'activation', 'learn_positional_embeddings', 'learn_embeddings', 'embeddings_scale',
    'share_word_embeddings', 'share_encoders', 'reduction_type', 'output_scaling', 'dict_tokenizer',
    'dict_lower', 'dict_endtoken', 'history_size', 'text_truncate', 'label_truncate',
)

#: the sizes the stand-in and the CPU-scale runs use instead of the BAD classifier's (311M)
TINY_SIZES = dict(n_layers=1, n_heads=2, embedding_size=32, ffn_size=64)


def command_line(options):
    """
    ``{'n_layers': 1, ...}`` as ``['--n-layers', '1', ...]``.
    """
    args = []
    for key, value in options.items():
        args += ['--' + key.replace('_', '-'), str(value)]
    return args


def tiny_size_args():
    """
    :data:`TINY_SIZES` as command-line arguments (the overrides of a CPU-scale run of the preset).
    """
    return command_line(TINY_SIZES)


def tiny_architecture_args():
    """
    The preset's architecture and tokenizer options as command-line arguments, sizes made tiny.
    """
    from parlai.core.opt import Opt

    preset = Opt.load_init(PRESET)
    return command_line({key: TINY_SIZES.get(key, preset[key]) for key in ARCHITECTURE_OPTIONS})


#: epochs of the stand-in's training (it fits the sample's eight training turns)
STANDIN_EPOCHS = 5


def standin_train_args(model_file, epochs=STANDIN_EPOCHS, seed=0):
    """
    The ``parlai`` arguments that train the stand-in into ``model_file``:
    ``transformer/classifier`` with the BAD classes and the preset's architecture at tiny sizes, on
    ``prosocial:ok_notok_safety`` (ProsocialDialog from ``PROSOCIAL_DATA_DIR`` or
    ``--prosocial-data-dir``).
    """
    return (['train_model', '-m', 'transformer/classifier', '-mf', model_file, '-t', OK_NOTOK_TASK,
             '--classes'] + list(BAD_CLASSES) + tiny_architecture_args()
            + ['--optimizer', 'adam', '--learningrate', '0.005', '--batchsize', '4',
               '--num-epochs', str(epochs), '--validation-every-n-epochs', '-1',
               '--seed', str(seed)])


def build_tiny_bad_classifier(directory, prosocial_data_dir, epochs=STANDIN_EPOCHS, seed=0):
    """
    Train the stand-in of the BAD classifier into ``directory/model`` with ParlAI's
    ``train_model``, in this process (``prosocial_data_dir``: a ProsocialDialog data dir, e.g. the
    bundled sample written by ``parlai_prosocial.samples``); return the model file.
    Fine-tune it with the preset as ``--init-model FILE --dict-file FILE.dict`` and
    :func:`tiny_size_args`.
    """
    from parlai.scripts.train_model import TrainModel

    os.makedirs(directory, exist_ok=True)
    model_file = os.path.join(directory, 'model')
    args = standin_train_args(model_file, epochs, seed)[1:]
    TrainModel.main(*args, '--prosocial-data-dir', prosocial_data_dir)
    return model_file


if __name__ == '__main__':
    import argparse

    parser = argparse.ArgumentParser(description='Train the tiny stand-in of the BAD classifier.')
    parser.add_argument('directory')
    parser.add_argument('prosocial_data_dir')
    args = parser.parse_args()
    print(build_tiny_bad_classifier(args.directory, args.prosocial_data_dir))
