"""
ProsocialDialog and SODA for ParlAI.

This package must stay cheap to import: the startup hook imports it in every Python process of the
environment (see ``plugin_hook``).
"""

__version__ = "0.1.0"
