"""
``-m dialogpt_local``: ParlAI's ``hugging_face/dialogpt`` that honours ``--model-name DIR``.
"""
