"""
What ParlAI imports for ``zoo:prost/model``.

ParlAI's ``modelzoo_path`` maps a two-part zoo name ``zoo:NAME/FILE`` to the module
``parlai.zoo.NAME.build`` (only longer names such as ``zoo:blender/reddit_3B/model`` map to
``parlai.zoo.blender.reddit_3B``), calls its ``download(datapath)`` and uses
``<datapath>/models/NAME/FILE``. The work is done in :mod:`.model`.
"""

from .model import download  # noqa: F401
