"""Every docstring example of the package runs and shows what it says (`help(name)` is documentation that works)."""

from __future__ import annotations

import doctest
import importlib
import inspect
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


PUBLIC = ("aipl.assets", "aipl.clv", "aipl.audience", "aipl.attribution", "aipl.strategy", "aipl.autopilot",
          "aipl.measure", "aipl.ingest", "aipl.simulate", "aipl.vocab")


@pytest.mark.parametrize("package", PUBLIC)
def test_every_public_name_has_a_runnable_example(package):
    """`help(name)` shows what a public function or class does and an example of it (run by the test above)."""
    mod = importlib.import_module(package)
    names = getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")]
    missing = [n for n in names if (inspect.isfunction(getattr(mod, n)) or inspect.isclass(getattr(mod, n)))
               and getattr(getattr(mod, n), "__module__", "").startswith("aipl")
               and ">>>" not in (inspect.getdoc(getattr(mod, n)) or "")]
    assert missing == []
