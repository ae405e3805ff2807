"""
``-m bad_classifier``: ParlAI's ``transformer/classifier`` that fine-tunes a classifier trained on
other classes (the BAD classifier's ``__notok__ __ok__``) with a new output layer.
"""
