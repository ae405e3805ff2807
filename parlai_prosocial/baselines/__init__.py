"""
Table 2's baselines that run in ParlAI (ProsocialDialog paper §5.1, App. C.1/C.2), and the tiny
offline stand-ins the tests train in their place.
"""
