"""
Prost (Prosocial Transformer, Kim et al. 2022, §4.2): ``-m prost``.

The agent is :class:`parlai_prosocial.agents.prost.agents.ProstAgent`. The field names it puts on
its replies, and the one rule that splits its texts into RoTs and reply, live in
:mod:`parlai_prosocial.formats`.
"""
