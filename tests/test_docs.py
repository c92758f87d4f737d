"""Every docstring example of the package runs and shows what it says (`help(name)` is documentation that works)."""

from __future__ import annotations

import doctest
import importlib
import io

import pytest

from tests.conftest import ROOT

SRC = ROOT / "src"
MODULES = sorted(
    ".".join(p.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
    for p in (SRC / "aipl").rglob("*.py") if p.name != "__main__.py"
)


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_run(module):
    mod = importlib.import_module(module)
    out = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in doctest.DocTestFinder(exclude_empty=True).find(mod, module):  # names defined in `module` only
        runner.run(test, out=out.write)
    assert runner.failures == 0, out.getvalue()[-4000:]
