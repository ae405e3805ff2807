"""
Seeding every generator a run draws from: Python's ``random``, numpy's global generator and torch.
"""

#: the seed ParlAI's ``eval_model`` starts from (its ``random.seed(42)``); our evaluations seed
#: numpy and torch with it too (the fix ``seed_evaluation``, the prosocial report)
EVAL_SEED = 42


def seed_everything(seed):
    """
    Seed Python's ``random``, numpy's global generator and torch (CPU and every GPU).
    """
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
