"""
Underscores in option values (a ParlAI bug: every run).
"""


def underscores_in_option_names_only(params_module):
    """
    ``parlai.core.params``: ``--gradient_clip`` still means ``--gradient-clip``, but an argument's
    *value* keeps its underscores.

    Replaces ParlAI 1.7.2's ``fix_underscores`` (``parlai/core/params.py``), which turns every
    ``_`` into ``-`` in any argument that starts with ``-``: a value that holds further options,
    such as ``canary_guard``'s ``--guarded-args "--model-file /models/my_prost/model"``, lost its
    underscores (``/models/my-prost/model``). Now only the option name is rewritten: the part
    before the first ``=`` or whitespace.
    """
    import re

    option_name = re.compile(r'^(-[^=\s]*)(.*)$', re.DOTALL)

    def fix_underscores(args):
        if not args:
            return args
        fixed = []
        for arg in args:
            if type(arg) is str and arg.startswith('-'):
                name, rest = option_name.match(arg).groups()
                arg = name.replace('_', '-') + rest
            fixed.append(arg)
        return fixed

    params_module.fix_underscores = fix_underscores
