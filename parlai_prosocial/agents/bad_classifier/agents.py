"""
``-m bad_classifier``: ParlAI's ``transformer/classifier``, except that ``--init-model`` may be a
classifier trained on other classes. Table 2's BAD classifier row fine-tunes
``zoo:bot_adversarial_dialogue/multi_turn/model`` (classes ``__notok__ __ok__``) on our five safety
labels::

    parlai train_model -o prosocial/table2_bad_classifier -mf MODEL

ParlAI 1.7.2's agent loads the init model's weights strictly, so its 2-class output layer stops the
run (``size mismatch for additional_linear_layer.weight``); ``--load-from-pretrained-ranker True``,
the other loading path, is meant for a ranker's encoders and, given a classifier, loads none of its
weights and says nothing. This agent loads everything but the output layer, which it initialises
anew with a warning naming both shapes and class lists, whenever the init model's classes (from
its ``.opt``; its output layer's size if it has none) are not ours in our order. Resuming from
``--model-file`` and the ranker path are ParlAI's, except that a classifier given to the ranker
path is refused. Without ``--init-model`` it is ParlAI's agent unchanged.
"""

from parlai.agents.transformer.transformer import TransformerClassifierAgent
from parlai.utils import logging

from parlai_prosocial.errors import ProsocialOptionError
from parlai_prosocial.model_files import saved_options

#: the output layer of ParlAI's classifier (``TransformerLinearWrapper``) in its state dict
OUTPUT_LAYER = 'additional_linear_layer'


def classes_of(opt):
    """
    The class list a saved opt trains (``--classes`` or ``--classes-from-file``); None if neither.
    ParlAI reads them only for the agent's own opt (``TorchClassifierAgent.class_list``).
    """
    if opt.get('classes_from_file'):
        with open(opt['classes_from_file'], encoding='utf-8') as f:
            return f.read().splitlines()
    if opt.get('classes'):
        return list(opt['classes'])
    return None


class BadClassifierAgent(TransformerClassifierAgent):
    """
    ``transformer/classifier`` initialised from a classifier of other classes; see the module
    docstring.
    """

    def load_state_dict(self, state_dict):
        is_classifier = f'{OUTPUT_LAYER}.weight' in state_dict
        if self.is_finetune and is_classifier:
            if self.opt['load_from_pretrained_ranker']:
                raise ProsocialOptionError(
                    f'--load-from-pretrained-ranker True: --init-model {self.opt["init_model"]} '
                    f'is a classifier, whose weights that option would silently skip; drop it '
                    f'(its output layer is replaced when its classes are not ours)'
                )
            state_dict = self._with_our_output_layer(state_dict)
        super().load_state_dict(state_dict)

    def _init_model_classes(self):
        saved = saved_options(self.opt['init_model'] + '.opt', missing_ok=True)
        return classes_of(saved) if saved is not None else None

    def _with_our_output_layer(self, state_dict):
        """
        ``state_dict`` with our freshly initialised output layer in place of the init model's,
        unless that one was trained on our classes in our order.
        """
        ours = getattr(self.model, OUTPUT_LAYER)
        theirs = tuple(state_dict[f'{OUTPUT_LAYER}.weight'].shape)
        init_classes = self._init_model_classes()
        our_classes = self.class_list  # read by ParlAI's TorchClassifierAgent before loading
        same_classes = init_classes == our_classes if init_classes is not None else True
        if theirs == tuple(ours.weight.shape) and same_classes:
            return state_dict
        logging.warning(
            f'--init-model {self.opt["init_model"]}: its output layer {OUTPUT_LAYER} '
            f'{list(theirs)} (classes {init_classes or "unknown"}) is not loaded; ours '
            f'{list(ours.weight.shape)} (classes {our_classes}) is newly initialised; every other '
            f'weight is loaded'
        )
        state_dict = dict(state_dict)
        for name, tensor in ours.state_dict().items():
            state_dict[f'{OUTPUT_LAYER}.{name}'] = tensor
        return state_dict
