"""
``-m dialogpt_local``: ParlAI's ``hugging_face/dialogpt`` agent, except that ``--model-name`` (a
HF hub name or a local ``save_pretrained`` directory with ``vocab.json`` and ``merges.txt``) is
honoured for the model and the tokenizer. ParlAI's agent accepts the option (from its GPT-2 parent)
but always loads ``microsoft/DialoGPT-<--gpt2-size>`` from the hub, so it cannot run offline or on a
copy you keep. Without ``--model-name`` it is ParlAI's agent unchanged.

    parlai train_model -o prosocial/table2_dialogpt_rots -mf MODEL     # Table 2's DialoGPT row
    parlai train_model -m dialogpt_local --model-name /models/DialoGPT-medium ...
"""

from parlai.agents.hugging_face.dialogpt import DialoGPTDecoder, DialoGPTModel, DialogptAgent
from parlai.agents.hugging_face.dict import DialoGPTDictionaryAgent


class LocalDialoGPTDictionaryAgent(DialoGPTDictionaryAgent):
    def get_tokenizer(self, opt):
        if opt.get('model_name'):
            from transformers import GPT2Tokenizer

            return GPT2Tokenizer.from_pretrained(opt['model_name'])
        return super().get_tokenizer(opt)


class LocalDialoGPTDecoder(DialoGPTDecoder):
    def _init_from_pretrained(self, opt):
        if opt.get('model_name'):
            from transformers import GPT2Model

            return GPT2Model.from_pretrained(opt['model_name'])
        return super()._init_from_pretrained(opt)


class LocalDialoGPTModel(DialoGPTModel):
    def _get_decoder(self, opt, dict):
        return LocalDialoGPTDecoder(opt, dict)


class DialogptLocalAgent(DialogptAgent):
    """
    DialoGPT from ``--model-name`` (hub name or local directory); see the module docstring.
    """

    @staticmethod
    def dictionary_class():
        return LocalDialoGPTDictionaryAgent

    def build_model(self, states=None):
        return LocalDialoGPTModel(self.opt, self.dict)
