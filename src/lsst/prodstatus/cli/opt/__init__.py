"""Command-line parameters, each declared once: types, options and arguments.

A command takes a parameter by its decorator (``@force_option``) and may override its
help text for its own meaning (``@force_option(help="…")``); everything else about the
parameter — names, type, metavar, default — is decided here, once.
"""

from .arguments import *  # noqa: F403
from .options import *  # noqa: F403
from .types import *  # noqa: F403
