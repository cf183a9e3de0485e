"""prodstat: production tracking for Rubin Observatory campaigns.

The package is importable without any heavy dependency: pandas, the Butler and the
Jira client are imported inside the functions that need them.
"""

from .version import __version__

__all__ = ["__version__"]
