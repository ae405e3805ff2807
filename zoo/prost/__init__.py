"""
``zoo:prost/model``: a Prost checkpoint you trained or were given, installed into ParlAI's model
zoo folder. Prost was never released. ParlAI resolves the name through :mod:`.build`; the work is
in :mod:`.model`; ``python -m parlai_prosocial.zoo.prost.install PATH`` installs a checkpoint
(:mod:`.install`); ``model_card.md`` describes the model.
"""
