"""`aipl tenant …` and `aipl serve`: the REST API and dashboard."""

from __future__ import annotations

from typing import Annotated

import typer

from aipl.api import create_app
from aipl.api.auth import add_tenant, issue_token, revoke_tenant_tokens, tenants
from aipl.cli.common import (
    JsonOpt,
    WorkspaceOpt,
    _fail,
    _group,
    _print_json,
    app,
    err,
    out,
)
from aipl.config import workspace_dir
from aipl.warehouse import WarehouseBusy

# ---- service
tenant_app = _group("tenant", "Tenants of the REST API and dashboard: a brand, or an agency granted several brands.")


@tenant_app.command("add")
def tenant_add(
    name: Annotated[str, typer.Argument(help="The tenant's name.")],
    brands: Annotated[str, typer.Option(help="Comma-separated brand ids it may see.")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Create a tenant (or replace its brands)."""
    try:
        t = add_tenant(workspace_dir(workspace), name, [b.strip() for b in brands.split(",") if b.strip()])
    except ValueError as exc:
        _fail(str(exc))
    out.print(f"tenant {t['tenant']}: brands {', '.join(t['brands'])}")


@tenant_app.command("list")
def tenant_list(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Tenants, their brands and how many tokens each has."""
    ts = tenants(workspace_dir(workspace))
    if as_json:
        _print_json(ts)
        return
    for name, t in ts.items():
        out.print(f"{name}: {', '.join(t['brands'])} ({t['tokens']} token(s))")


@tenant_app.command("token")
def tenant_token(
    name: Annotated[str, typer.Argument(help="The tenant.")],
    role: Annotated[str, typer.Option(help="viewer, analyst or admin.")] = "viewer",
    label: Annotated[str, typer.Option(help="What the token is for.")] = "",
    workspace: WorkspaceOpt = None,
) -> None:
    """Issue an API token (printed once; only its hash is kept)."""
    try:
        print(issue_token(workspace_dir(workspace), name, role, label))
    except ValueError as exc:
        _fail(str(exc))


@tenant_app.command("revoke")
def tenant_revoke(name: Annotated[str, typer.Argument(help="The tenant.")], workspace: WorkspaceOpt = None) -> None:
    """Revoke every token of a tenant (takes effect on the next request)."""
    out.print(f"revoked {revoke_tenant_tokens(workspace_dir(workspace), name)} token(s) of {name}")


@app.command("serve")
def serve(
    workspace: WorkspaceOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
) -> None:
    """Serve the REST API (OpenAPI at /docs) and the web dashboard (at /)."""
    import uvicorn  # deferred: the ASGI server is only needed to serve

    root = workspace_dir(workspace)
    err.print(f"aipl: building the service for {root} …")
    try:
        service = create_app(root)
    except WarehouseBusy as exc:
        _fail(str(exc))
    shown = f"[{host}]" if ":" in host else host
    err.print(f"aipl: serving {root} at http://{shown}:{port}/ (dashboard; the API's docs at /docs); Ctrl-C stops")
    uvicorn.run(service, host=host, port=port, log_level="warning")


