"""The docstring examples of the MI modules run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "infofusion.functional.mi",
    "infofusion.measures.mi",
    "infofusion.measures.mi.gaussian",
    "infofusion.measures.mi.ksg",
    "infofusion.measures.mi.plugin",
    "infofusion.measures.mi.neural",
    "infofusion.measures.mi.club",
    "infofusion.functional.cauchy_schwarz",
    "infofusion.functional.diffusion",
    "infofusion.functional.wasserstein",
    "infofusion.measures.mi.cauchy_schwarz",
    "infofusion.measures.mi.diffusion",
    "infofusion.measures.mi.wasserstein",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
