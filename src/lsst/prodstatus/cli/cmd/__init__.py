"""The prodstat commands by family; each is its decorators, one script call and its rendering.

`COMMANDS` lists them in the order of an operator's work, the order of ``prodstat --help``.
"""

from __future__ import annotations

from . import campaign, groups, info, maps, stats, watch, workflow

__all__ = ["COMMANDS"]

COMMANDS = [
    *groups.COMMANDS,
    *workflow.COMMANDS,
    *campaign.COMMANDS,
    *maps.COMMANDS,
    *stats.COMMANDS,
    *info.COMMANDS,
    *watch.COMMANDS,
]
