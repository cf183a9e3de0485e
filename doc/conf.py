"""Sphinx configuration for the prodstat documentation."""

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "src")))

from lsst.prodstatus.version import __version__

project = "prodstat"
author = "prodstat developers"
copyright = "2026, prodstat developers"
release = __version__
version = __version__
extensions: list[str] = []
exclude_patterns = ["_build"]
html_theme = "alabaster"
