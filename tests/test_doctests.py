"""Every docstring example in the library and the harness runs and holds (they document pure functions)."""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import eval as eval_package
import rag


def _modules(package) -> list[str]:
    return [m.name for m in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}.")]


@pytest.mark.parametrize("module", _modules(rag) + _modules(eval_package))
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0, f"{result.failed} docstring example(s) of {module} failed"
