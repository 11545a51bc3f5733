"""Sphinx configuration of deepwick's API reference: the C API from the public headers (Hawkmoth, via libclang)
and the Python API from its numpy-style docstrings (autodoc + numpydoc). Built with warnings as errors by
`make docs` (part of `make test`), which also runs the docstrings' examples as doctests."""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, "..", ".."))
sys.path.insert(0, os.path.join(root, "python"))

project = "deepwick"
author = "the deepwick developers"
copyright = "2026, the deepwick developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.doctest", "numpydoc", "hawkmoth"]

# C: the headers' comments are plain text written for a terminal (aligned columns, formulas), not
# reStructuredText, so each is shown as a literal block, exactly as written.
hawkmoth_root = os.path.join(root, "include")
hawkmoth_clang = ["-I" + os.path.join(root, "include"), "-std=c11"]
c_id_attributes = ["DW_API"]


def _literal(app, lines, transform, options):
    text = [line for line in lines]
    while text and not text[-1].strip():
        text.pop()
    if not text:
        return
    lines[:] = ["::", ""] + ["    " + line for line in text] + [""]


def setup(app):
    app.connect("hawkmoth-process-docstring", _literal)


# Python
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_validation_checks = set()
doctest_global_setup = "import numpy as np\nimport deepwick"

html_theme = "alabaster"
exclude_patterns = ["_build"]
