"""The `aipl` command (Typer): one module per engine group, mirroring `aipl.api.routers`; each calls only the
engines' public functions."""

from __future__ import annotations

import functools
import importlib
import os
import sys

from typer._click.exceptions import ClickException, NoArgsIsHelpError  # Typer ships its own click
from typer.exceptions import Abort
from typer.main import get_command
from typer.rich_utils import rich_format_error

from aipl.cli.common import _say_error, _usage_error, app

# Registered in this order, which is the order `aipl --help` lists the commands in.
GROUPS = ("workspace", "assets", "health", "clv", "measure", "strategy", "crowds", "autopilot", "service", "run")
for _group in GROUPS:
    importlib.import_module(f"aipl.cli.{_group}")

__all__ = ["app", "main"]


@functools.cache
def _command():
    """The click command of the app, built once per process (building it takes a quarter of a second)."""
    return get_command(app)


def main(args: list[str] | None = None) -> None:  # pragma: no cover
    """Run the command line (`args`, default sys.argv): every error is one line and exit 2 (a JSON object with
    --json), a mistyped option too; the output closed early (`aipl … | head`) ends quietly; a traceback only with
    AIPL_DEBUG=1."""
    args = sys.argv[1:] if args is None else list(args)
    try:
        code = _command().main(args=args, prog_name="aipl", standalone_mode=False)
    except BrokenPipeError:
        sys.exit(0)
    except NoArgsIsHelpError as exc:  # `aipl`, `aipl crowd`: the help, as before
        rich_format_error(exc)
        sys.exit(exc.exit_code)
    except ClickException as exc:  # a mistyped command, option or value
        sys.exit(_usage_error(exc, "--json" in args))
    except Abort:
        sys.exit(_say_error("aborted", 130))
    except Exception as exc:  # users never see a traceback
        if os.environ.get("AIPL_DEBUG"):
            raise
        sys.exit(_say_error(f"{type(exc).__name__}: {exc} (AIPL_DEBUG=1 shows where)"))
    sys.exit(code if isinstance(code, int) else 0)
