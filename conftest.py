"""
Settings for the whole test suite, set before any test (or subprocess of one) starts.
"""

import os

# Tests never reach a model hub or the network.
for _key in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HF_DATASETS_OFFLINE'):
    os.environ[_key] = '1'

# One torch thread, in-process and in every `parlai` subprocess: tiny models on 2 cores gain
# nothing from a second intra-op thread, and under load the contention made them up to 50x slower
# (measured on the tiny Prost and Canary trainings); one thread also keeps results repeatable.
os.environ['OMP_NUM_THREADS'] = '1'

import torch  # noqa: E402

torch.set_num_threads(1)
