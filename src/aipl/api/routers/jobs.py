"""Jobs: ingestion of an uploaded file (admin) and a campaign post-mortem (analyst), polled for progress;
the post-mortem's HTML once done."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from aipl.api.auth import Principal
from aipl.api.deps import ERRORS, Caller, Paging, brand_of, need

router = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=ERRORS)
MAX_UPLOAD = 200 * 1024 * 1024


@router.get("")
def listing(request: Request, who: Caller, paging: Paging) -> dict:
    """The tenant's jobs, newest first."""
    return paging.cut(request.app.state.jobs.listing(who.tenant))


@router.get("/{job_id}")
def status(request: Request, who: Caller, job_id: str) -> dict:
    """A job's status and progress (404 for another tenant's job, as for an unknown one)."""
    job = request.app.state.jobs.get(who.tenant, job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r}")
    return job


@router.post("/ingest", status_code=202)
async def ingest_upload(request: Request, file: UploadFile, fmt: str,
                        who: Annotated[Principal, Depends(need("admin"))]) -> dict:
    """Load an uploaded file (CSV or Parquet, format `fmt`, see `aipl formats`) as a job. Every brand in
    the file must be granted to the tenant; the load is all or nothing, rejected rows are quarantined."""
    from aipl.ingest import FORMATS

    if fmt not in FORMATS:
        raise HTTPException(422, f"unknown format {fmt!r}; one of {', '.join(sorted(FORMATS))}")
    suffix = Path(file.filename or "upload.csv").suffix.lower()
    if suffix not in (".csv", ".parquet", ".txt", ".tsv"):
        raise HTTPException(415, f"{file.filename}: send .csv, .tsv, .txt or .parquet")
    folder = Path(request.app.state.root) / "uploads"
    folder.mkdir(exist_ok=True)
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(file.filename or "upload").stem)[:60]
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f"{stem}-", suffix=suffix)  # quarantine names the file
    size = 0
    with open(fd, "wb") as out:
        while chunk := await file.read(1 << 20):
            size += len(chunk)
            if size > MAX_UPLOAD:
                out.close()
                Path(tmp).unlink()
                raise HTTPException(413, f"{file.filename}: larger than {MAX_UPLOAD // 2**20} MB")
            out.write(chunk)
    foreign = await run_in_threadpool(_foreign_brands, Path(tmp), who)  # the event loop keeps serving
    if foreign:
        Path(tmp).unlink()
        raise HTTPException(403, f"{file.filename}: {foreign} brand id(s) in the file are not granted to "
                                 f"tenant {who.tenant!r}; nothing was loaded")
    app = request.app

    def work(report):
        from aipl.ingest import ingest
        from aipl.warehouse import open_warehouse

        wh = open_warehouse(app.state.root)
        try:
            r = ingest(wh, tmp, fmt, report=lambda msg, frac=None: report(msg, frac))
            app.state.refresh(wh)
        finally:
            wh.close()
            Path(tmp).unlink(missing_ok=True)
        return {"file": file.filename, "read": r.read, "accepted": r.accepted, "rejected": r.rejected}

    return app.state.jobs.submit(who.tenant, "ingest", work)


def _foreign_brands(path: Path, who: Principal) -> int:
    """How many distinct brand ids in the file are not the tenant's (0 when it has no brand column)."""
    import duckdb

    reader = "read_parquet" if path.suffix == ".parquet" else "read_csv_auto"
    con = duckdb.connect()
    try:
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}(?)", [str(path)]).fetchall()]
        if "brand_id" not in cols:
            return 0
        ids = {r[0] for r in con.execute(f"SELECT DISTINCT brand_id::VARCHAR FROM {reader}(?)",
                                         [str(path)]).fetchall() if r[0] is not None}
    except duckdb.Error as exc:
        raise HTTPException(422, f"the file cannot be read: {exc}") from exc
    finally:
        con.close()
    return len(ids - who.brands)


class PostmortemIn(BaseModel):
    """A campaign post-mortem (结案) of one brand."""

    brand: str = Field(min_length=1, max_length=64)
    campaign: str = Field(min_length=1, max_length=64)


@router.post("/postmortem", status_code=202)
def postmortem(request: Request, body: PostmortemIn, who: Annotated[Principal, Depends(need("analyst"))]) -> dict:
    """Write the brand's post-mortem as a job; fetch it from /api/jobs/{id}/html when done."""
    brand_of(who, body.brand)
    app = request.app

    def work(report):
        from aipl.report import write_postmortem
        from aipl.warehouse import open_warehouse

        out = Path(app.state.root) / "reports" / who.tenant
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"postmortem-{body.brand}-{body.campaign}.html"
        report("writing the post-mortem", 0.1)
        wh = open_warehouse(app.state.root)
        try:
            write_postmortem(wh, body.campaign, path, body.brand)
        finally:
            wh.close()
        return {"html": str(path.relative_to(app.state.root))}

    return app.state.jobs.submit(who.tenant, "postmortem", work)


_AS_JSON = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


@router.get("/{job_id}/html", response_class=HTMLResponse,
            responses={code: {**v, "content": _AS_JSON} for code, v in ERRORS.items()})
def job_html(request: Request, who: Caller, job_id: str) -> HTMLResponse:
    """The HTML a finished post-mortem job wrote."""
    job = request.app.state.jobs.get(who.tenant, job_id)
    if job is None or job["status"] != "done" or not (job["result"] or {}).get("html"):
        raise HTTPException(404, f"no finished report for job {job_id!r}")
    return HTMLResponse((Path(request.app.state.root) / job["result"]["html"]).read_text(encoding="utf-8"))
