"""aipl — open-source consumer operations for brands.

A short tour (each name below has a docstring with a runnable example; `help(aipl.assets.snapshot)`):

- ``aipl.config.init_workspace(dir)`` and ``aipl.warehouse.open_warehouse(dir)``: a workspace (``aipl.toml``) and
  its warehouse, DuckDB by default or Spark (``backend = "spark"``, ``[spark]``), the same code on both.
- ``aipl.ingest.ingest(wh, path, format)``: validate and load a file; bad rows go to quarantine, all or nothing.
- ``aipl.simulate``: a synthetic market with hidden ground truth.
- Engines, in layer order (each imports only those before it):
  ``aipl.assets`` (AIPL / DEEPLINK states, flows, FAST, GROW), ``aipl.clv`` (BG/NBD, Pareto/NBD, Gamma-Gamma,
  member operations), ``aipl.audience`` (tags, the crowd language, bitmaps, insight, lookalike, export),
  ``aipl.attribution`` (campaign windows and last-touch attribution), then ``aipl.strategy`` (GTA plans),
  ``aipl.autopilot`` (response curves, budget plans) and ``aipl.measure`` (lift, PI, uplift, post-mortems).
- Faces: ``aipl.report`` (HTML / PDF), the ``aipl`` command (``aipl.cli``) and the REST API with its dashboard
  (``aipl.api``); they call only the engines' public names.

>>> import aipl
>>> aipl.__version__ == _version()
True

docs/architecture.md has the layers, the flow of data and the lineage of every derived table.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def _version() -> str:
    try:
        return version("aipl")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "0.0.0+unknown"


__version__ = _version()
__all__ = ["__version__"]
