"""
Our ``-o prosocial/NAME`` presets (``prosocial/NAME.opt``), as ParlAI keeps its own in
``parlai/opt_presets``. A package so that its installed location is found by import, in wheels
and editable installs alike (``parlai_fixes.find_our_opt_presets``).
"""
