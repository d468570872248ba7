"""The local web page (``python -m model serve``): tick findings or take the interview.

See :mod:`model.web.app`. Templates and the stylesheet and script are package data.
"""

from .app import HOST, create_app, make_server

__all__ = ["HOST", "create_app", "make_server"]
