"""Lookalike on real data: Taobao UserBehavior (Tianchi 649). The seed is the consumers who bought before a
cut; the truth is those who buy for the first time after it. At the size of the rule it replaces (consumers who
carted or favourited something in the last 15 days), the lookalike (LightGBM PU learning over tags and
behaviour) is compared with that rule, random choice, a plain classifier (logistic regression on the same
features) and the tags-only lookalike it replaces, by precision (95 % Wilson interval) and lift over the base
rate. The product's own check (the model against the rule on held-out seed members) and its verdict (keep the
model, or fall back to the rule) are printed too.

    python bench/lookalike.py                      # both real slices of $AIPL_DATA/taobao_userbehavior
    python bench/lookalike.py --only days          # the two complete-history slices, cut at the end of a day
    python bench/lookalike.py --only hours         # the 58,732-consumer time slice, cut at an instant
    python bench/lookalike.py --only days FILE …   # e.g. the full UserBehavior.csv (100M rows)
    python bench/lookalike.py --json PATH          # also write bench/run.py's report

`days`: the first and last lines of the original (157 consumers with complete histories), cut at the end of
--split; tags and behaviour are computed on that day. `hours`: every event of 2017-11-26 09:00–10:55, cut at
--cut; only behaviour before the cut (tags are daily and would see the future).

`--json` reports, per slice, the lookalike's fit time against the plain classifier's (one fit each) and whether
the served crowd is at least as precise as the rule; the check (a failure exits 1) is that every method chose
the same number of consumers, so that their precisions compare.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from common import DATA, row, write_json
from pyroaring import BitMap
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from aipl.audience import TagIndex, parse, refresh
from aipl.audience.lookalike import RULE, behaviour, features, lookalike, rule_members, wilson
from aipl.config import init_workspace
from aipl.ingest import ingest
from aipl.warehouse import open_warehouse

SHARED = DATA / "taobao_userbehavior"
DAYS = [SHARED / "UserBehavior_head_fattydelivery.csv", SHARED / "UserBehavior_tail_betashepherd.csv"]
HOURS = [SHARED / "UserBehavior_timewindow_rdav27.csv"]


def plain() -> object:
    """The plain classifier: standardised logistic regression."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))


def scored(name: str, chosen, truth: set[int], rest: set[int], base: float) -> dict:
    chosen = [c for c in chosen if c in rest]
    hits = sum(c in truth for c in chosen)
    lo, hi = wilson(hits, len(chosen))
    p = hits / len(chosen) if chosen else 0.0
    return {"method": name, "chosen": len(chosen), "hits": hits, "precision": p, "ci": (lo, hi),
            "lift": p / base if base else float("nan"), "lift_ci": (lo / base, hi / base) if base else None}


def compare(x: pd.DataFrame, x_tags: pd.DataFrame | None, seed: BitMap, truth: set[int], rest: set[int],
            rng: np.random.Generator) -> tuple[list[dict], dict]:
    """Every method at the rule's size (outside the seed), and the fit times (lookalike, plain classifier)."""
    base = len(truth & rest) / len(rest)
    rule = rule_members(x.loc[sorted(rest)])
    size = int(rule.sum())
    k = size / len(seed)
    rows = [scored(f"rule: {RULE}", rule.index[rule], truth, rest, base),
            scored("random", rng.choice(sorted(rest), size=size, replace=False), truth, rest, base)]
    t = time.perf_counter()
    ours = lookalike(x, seed, k)
    took = time.perf_counter() - t
    t = time.perf_counter()
    theirs = lookalike(x, seed, k, classifier=plain())
    took_plain = time.perf_counter() - t

    def model_top(r) -> pd.Index:  # the model's own ranking, whatever the served crowd fell back to
        return r.scores.sort_values(ascending=False, kind="mergesort").index[:size]

    rows.append(scored("plain classifier (logistic regression)", model_top(theirs), truth, rest, base))
    if x_tags is not None:
        rows.append(scored("tags-only lookalike (before)", model_top(lookalike(x_tags, seed, k)), truth, rest, base))
    rows.append(scored("lookalike model (behaviour + tags)", model_top(ours), truth, rest, base))
    rows.append(scored(f"lookalike as served (method: {ours.method})", ours.top, truth, rest, base))
    print(f"  base rate {base:.1%}; every method chooses {size:,} (the rule's size); lookalike fitted in {took:.1f} s, "
          f"the plain classifier in {took_plain:.1f} s")
    h = ours.holdout
    if h:
        print(f"  product check on held-out consumers ({h['consumers']:,}, {h['seed_members']:,} seed members): "
              f"model precision {h['precision']:.1%} (95% {h['precision_ci'][0]:.1%}–{h['precision_ci'][1]:.1%}; "
              f"lift {h['lift']:.2f}x, {h['lift_ci'][0]:.2f}–{h['lift_ci'][1]:.2f}) vs rule {h['rule_precision']:.1%} "
              f"→ {ours.method}")
    return rows, {"fit": took, "plain_fit": took_plain, "size": size}


def show(rows: list[dict]) -> None:
    for r in rows:
        ci = f"[{r['ci'][0]:.1%}, {r['ci'][1]:.1%}]"
        lift = f"{r['lift']:.2f}x [{r['lift_ci'][0]:.2f}, {r['lift_ci'][1]:.2f}]" if r["lift_ci"] else "—"
        print(f"  {r['method']:46} chose {r['chosen']:>7,}, hits {r['hits']:>6,}, precision {r['precision']:6.1%} "
              f"{ci:18} lift {lift}")


def by_days(files: list[Path], split: str, rng: np.random.Generator) -> tuple[list[dict], dict]:
    with tempfile.TemporaryDirectory() as tmp:
        wh = open_warehouse(init_workspace(Path(tmp) / "ws"))
        for f in files:
            r = ingest(wh, f, "userbehavior")
            print(f"{f.name}: read {r.read:,}, accepted {r.accepted:,}, quarantined {r.rejected:,}")
        refresh(wh, split)
        index = TagIndex.load(wh)
        seed = index.evaluate(parse('count(event="purchase", days=30) >= 1'))
        later = wh.raw.execute(f"""SELECT DISTINCT i.id FROM events e JOIN consumer_ids i USING (consumer_id)
            WHERE e.event_type = 'purchase'
              AND CAST(timezone('Asia/Shanghai', e.ts) AS DATE) > DATE '{split}'""").df().id
        truth = set(later) - set(seed)
        rest = set(index.universe) - set(seed)
        print(f"{len(index.universe):,} consumers; seed {len(seed):,} buyers up to {split}; "
              f"{len(truth):,} first-time buyers after it among {len(rest):,}")
        x = features(wh).reindex(sorted(index.universe), fill_value=0.0)
        out = compare(x, features(wh, with_behaviour=False).reindex(x.index, fill_value=0.0), BitMap(seed), truth,
                      rest, rng)
        wh.close()
    show(out[0])
    return out


def by_hours(files: list[Path], cut: str, rng: np.random.Generator) -> tuple[list[dict], dict]:
    with tempfile.TemporaryDirectory() as tmp:
        wh = open_warehouse(init_workspace(Path(tmp) / "ws"))
        for f in files:
            r = ingest(wh, f, "userbehavior")
            print(f"{f.name}: read {r.read:,}, accepted {r.accepted:,}, quarantined {r.rejected:,}")
        refresh(wh, pd.Timestamp(cut).date())  # dense ids (tags are not used: they would see the whole day)
        instant = pd.Timestamp(cut).tz_localize("Asia/Shanghai")
        x = behaviour(wh, until=instant)
        # consumers seen before the cut: those a crowd can be drawn from (the others have no history yet)
        ids = wh.raw.execute(f"""SELECT i.id,
                max(e.event_type = 'purchase' AND e.ts < TIMESTAMPTZ '{instant}') AS before,
                max(e.event_type = 'purchase' AND e.ts >= TIMESTAMPTZ '{instant}') AS after
            FROM events e JOIN consumer_ids i USING (consumer_id) GROUP BY 1
            HAVING min(e.ts) < TIMESTAMPTZ '{instant}'""").df().set_index("id")
        x = x.reindex(ids.index.sort_values(), fill_value=0.0)
        seed = BitMap(ids.index[ids.before].tolist())
        rest = set(ids.index[~ids.before].tolist())
        truth = set(ids.index[ids.after & ~ids.before].tolist())
        print(f"{len(ids):,} consumers seen before {cut}; seed {len(seed):,} buyers before it; {len(truth):,} "
              f"first-time buyers after it among {len(rest):,}")
        out = compare(x, None, seed, truth, rest, rng)
        wh.close()
    show(out[0])
    return out


def report(slice_: str, rows: list[dict], times: dict) -> tuple[dict, list[str]]:
    """The `--json` row of one slice and what is wrong with it (methods that chose a different number)."""
    rule, served = rows[0], rows[-1]
    odd = [f"{slice_}: {r['method']} chose {r['chosen']:,}, not {times['size']:,}" for r in rows
           if r["chosen"] != times["size"]]
    return row(f"lookalike fit ({slice_})", times["fit"], "plain classifier fit (logistic regression)",
               times["plain_fit"], "served crowd at least as precise as the rule",
               served["precision"] >= rule["precision"]), odd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--only", choices=["days", "hours"])
    ap.add_argument("--split", default="2017-11-29", help="days: the last seed day (tags are computed on it).")
    ap.add_argument("--cut", default="2017-11-26 10:00", help="hours: the instant (China time) of the cut.")
    ap.add_argument("--json", help="write the results here in bench/run.py's format")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    out, problems = [], []
    if args.only != "hours":
        print("== cut at the end of a day (complete histories)")
        r, odd = report("days", *by_days(args.files or DAYS, args.split, rng))
        out.append(r)
        problems += odd
    if args.only != "days":
        print("== cut at an instant (a time slice)")
        r, odd = report("hours", *by_hours(args.files if args.only == "hours" and args.files else HOURS, args.cut,
                                           rng))
        out.append(r)
        problems += odd
    write_json(args.json, "lookalike", vars(args), out, ok=not problems)
    if problems:
        raise SystemExit("CHECK FAILED: " + "; ".join(problems))


if __name__ == "__main__":
    main()
