"""Sphinx configuration of pycnm's reference: generated from the docstrings (``make docs``)."""

project = "pycnm"
author = "pycnm's authors"
extensions = ["sphinx.ext.autodoc"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
# the docstrings name types by their import paths; a name Sphinx cannot resolve is no error here
# (nitpicky off), but a malformed docstring is (the build runs with -W)
nitpicky = False
html_theme = "alabaster"
exclude_patterns = ["_build"]
