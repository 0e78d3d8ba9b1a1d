"""docs/drivers.md is generated from, and tested against, the hookspecs."""

import os
import pathlib

from pycnm import _guide

GUIDE = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "drivers.md")


def test_the_guide_s_hook_reference_is_up_to_date():
    text = pathlib.Path(GUIDE).read_text()
    generated = text[text.index(_guide.BEGIN) : text.index(_guide.END) + len(_guide.END)]
    assert generated == _guide.reference(), "run: python -m pycnm._guide docs/drivers.md"


def test_every_hook_is_in_the_guide():
    text = pathlib.Path(GUIDE).read_text()
    missing = _guide.hook_names() - _guide.names_in(text)
    assert not missing, f"hooks missing from docs/drivers.md: {sorted(missing)}"


def test_the_guide_names_no_hook_that_does_not_exist():
    text = pathlib.Path(GUIDE).read_text()
    unknown = _guide.names_in(text) - _guide.hook_names()
    assert not unknown, f"docs/drivers.md names hooks that do not exist: {sorted(unknown)}"
