"""The `aipl` command (Typer): one module per engine group, mirroring `aipl.api.routers`; each calls only the
engines' public functions."""

from __future__ import annotations

import importlib
import os
import sys

from aipl.cli.common import _say_error, app

# Registered in this order, which is the order `aipl --help` lists the commands in.
GROUPS = ("workspace", "assets", "health", "clv", "measure", "strategy", "crowds", "autopilot", "service")
for _group in GROUPS:
    importlib.import_module(f"aipl.cli.{_group}")

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover
    """Run the command line, ending quietly when its output is closed (`aipl … | head`); an unforeseen error is
    one line and exit 2 like any other (the traceback only with AIPL_DEBUG=1)."""
    try:
        app()
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:  # users never see a traceback
        if os.environ.get("AIPL_DEBUG"):
            raise
        sys.exit(_say_error(f"{type(exc).__name__}: {exc} (AIPL_DEBUG=1 shows where)"))
