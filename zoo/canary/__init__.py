"""
Canary in ParlAI's model zoo: ``zoo:canary/model`` (see :mod:`.build`), installable offline with
``python -m parlai_prosocial.zoo.canary.install PATH``; model card in ``model_card.md``.
"""
