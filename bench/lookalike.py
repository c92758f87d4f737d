"""Lookalike on real data: Taobao UserBehavior (Tianchi 649). The seed is the consumers who bought in the
first days; the truth is those who buy for the first time in the days after; the lookalike (k × seed) is
compared with random choice and with a rule (consumers who carted or favourited something in the last 15
days), by precision and lift over the base rate.

    python bench/lookalike.py [--split 2017-11-29] [--k 0.5] [FILE ...]

With no FILE it reads the slices in $AIPL_DATA/taobao_userbehavior that hold complete histories (the
first and last lines of the original: 157 consumers), which is far too small for a verdict; pass the full
UserBehavior.csv (100M rows) for one. UserBehavior has no brands or amounts: tags are activity, purchases,
recency and the preferred category.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import DATA
from pyroaring import BitMap

from aipl.audience import TagIndex, parse, refresh
from aipl.audience.lookalike import features, lookalike, precision_lift
from aipl.config import init_workspace
from aipl.ingest import ingest
from aipl.warehouse import open_warehouse

SHARED = DATA / "taobao_userbehavior"
DEFAULT = [SHARED / "UserBehavior_head_fattydelivery.csv", SHARED / "UserBehavior_tail_betashepherd.csv"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--split", default="2017-11-29", help="The last seed day (tags are computed on it).")
    ap.add_argument("--k", type=float, default=0.5, help="Multiple of the seed (the default sample is small).")
    args = ap.parse_args()
    files = args.files or DEFAULT
    with tempfile.TemporaryDirectory() as tmp:
        wh = open_warehouse(init_workspace(Path(tmp) / "ws"))
        for f in files:
            r = ingest(wh, f, "userbehavior")
            print(f"{f.name}: read {r.read:,}, accepted {r.accepted:,}, quarantined {r.rejected:,}")
        refresh(wh, args.split)
        index = TagIndex.load(wh)
        seed = index.evaluate(parse('count(event="purchase", days=30) >= 1'))
        later = wh.raw.execute(f"""SELECT DISTINCT i.id FROM events e JOIN consumer_ids i USING (consumer_id)
            WHERE e.event_type = 'purchase'
              AND CAST(timezone('Asia/Shanghai', e.ts) AS DATE) > DATE '{args.split}'""").df().id
        truth = set(later) - set(seed)
        rest = set(index.universe) - set(seed)
        print(f"{len(index.universe):,} consumers; seed {len(seed):,} buyers up to {args.split}; "
              f"{len(truth):,} first-time buyers after it among {len(rest):,}")
        ours = precision_lift(lookalike(features(wh), BitMap(seed), args.k).top, truth, rest)
        rule = precision_lift(index.evaluate(parse(
            'count(event="add_to_cart", days=15) >= 1 or count(event="favorite", days=15) >= 1')), truth, rest)
        for name, r in (("lookalike", ours), ("rule: carted or favourited in 15 days", rule)):
            lift = f"{r['lift']:.2f}x" if r["lift"] is not None else "—"
            print(f"  {name:40} chose {r['chosen']:>7,}, hits {r['hits']:>6,}, precision {r['precision']:.1%} "
                  f"(base rate {r['base_rate']:.1%}, lift {lift})")
        wh.close()


if __name__ == "__main__":
    main()
