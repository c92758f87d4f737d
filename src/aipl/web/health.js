// aipl dashboard: the "health" view. Registered on PAGES; helpers (api, t, chart, table, fmt, pct, esc, $, state)
// come from app.js, which loads first.
"use strict";

Object.assign(PAGES, {
  async health(page) {
    const end = state.lastDay;
    const back = (d, days) => new Date(Date.parse(d) - days * 864e5).toISOString().slice(0, 10);
    const lastYear = (d) => `${Number(d.slice(0, 4)) - 1}${d.slice(4)}`;
    const start = back(end, 29);
    const [fast, rank, grow] = await Promise.all([api("/api/health/fast"), api("/api/health/ranking?limit=200"),
      api(`/api/health/grow/${state.brand}?start0=${lastYear(start)}&end0=${lastYear(end)}&start1=${start}&end1=${end}`)]);
    const mine = fast.brands.find((b) => b.brand_id === state.brand) || fast.brands[0];
    const bench = fast.benchmarks.filter((b) => b.category_id === mine?.category_id);
    const q = (m, p) => bench.find((b) => b.metric === m)?.[p];
    const num = (m, v) => (m === "A" || m === "T" ? pct(v) : fmt(v));  // F, S are counts; A, T rates
    page.innerHTML = `<h1>${t("health.title")} · ${esc(state.brand)} · ${esc(fast.from)} … ${esc(fast.to)}</h1>
      ${table([[t("metric"), (m) => m], [t("value"), (m) => `<span data-testid="fast-${m}">${
        num(m, mine[m])}</span>`],
      [t("pct"), (m) => pct(mine[`${m}_pct`], 0)], [t("p50"), (m) => num(m, q(m, "P50"))],
      [t("p90"), (m) => num(m, q(m, "P90"))]], ["F", "A", "S", "T"])}
      ${mine?.withheld ? `<p class="muted" data-testid="withheld">${esc(mine.withheld)}</p>` : ""}
      <div class="row"><div><h2>${t("pct")}</h2><div class="chart" id="radar"></div></div>
      <div><h2>${t("health.rank")}</h2><div id="rank"></div></div></div>
      <h2>${t("health.grow")} · ${esc(grow.period0.join(" … "))} → ${esc(grow.period1.join(" … "))}</h2>
      <div class="row"><div>${table([[t("metric"), (r) => esc(r[0])], [t("value"), (r) =>
        `<span data-testid="grow-${r[1]}">${fmt(grow[r[1]], 0)}</span>`]], [[t("grow.gmv0"), "gmv0"],
        [t("grow.gmv1"), "gmv1"], ["Δ GMV", "delta"], [t("grow.G"), "G"], [t("grow.R"), "R"], [t("grow.O"), "O"],
        [t("grow.W"), "W"]])}<p class="muted">${t("grow.note")}</p></div><div class="chart" id="grow"></div></div>`;
    const parts = ["G", "R", "O", "W"];
    chart($("#grow"), { tooltip: {}, xAxis: { type: "category", axisLabel: { interval: 0, width: 100, overflow: "break" },
      data: parts.map((k) => t(`grow.${k}`)) },
      yAxis: { type: "value" }, series: [{ type: "bar", label: { show: true, position: "top",
        formatter: (p) => fmt(p.value) }, data: parts.map((k) => ({ value: Math.round(grow[k]),
        itemStyle: { color: grow[k] >= 0 ? "#16a34a" : "#dc2626" } })) }] });
    chart($("#radar"), { tooltip: {}, radar: { indicator: ["F", "A", "S", "T"].map((m) => ({ name: m, max: 1 })) },
      series: [{ type: "radar", data: [{ name: state.brand, value: ["F", "A", "S", "T"].map((m) => mine[`${m}_pct`]),
        areaStyle: { opacity: 0.2 } }] }] });
    $("#rank").innerHTML = table([["#", (r) => r.rank ?? "—"], [t("brand"), (r) => esc(r.brand_id)],
      ["score", (r) => `<span data-testid="${r.own ? `score-${r.brand_id}` : ""}">${fmt(r.score, 1)}</span>`],
      ["F", (r) => fmt(r.F)], ["A", (r) => pct(r.A)], ["S", (r) => fmt(r.S)], ["T", (r) => pct(r.T)]],
    rank.items.filter((r) => r.category_id === mine?.category_id), (r) => (r.own ? "own" : ""));
  },
});
