// aipl dashboard: the "assets" view. Registered on PAGES; helpers (api, t, chart, table, fmt, pct, esc, $, state)
// come from app.js, which loads first.
"use strict";

Object.assign(PAGES, {
  async assets(page) {
    const day = state.lastDay;
    const start = new Date(Date.parse(day) - 30 * 864e5).toISOString().slice(0, 10);
    const [snap, flow] = await Promise.all([
      api(`/api/assets/${state.brand}/snapshot?day=${day}`),
      api(`/api/assets/${state.brand}/flow?start=${start}&end=${day}`),
    ]);
    const total = AIPL.reduce((s, k) => s + (snap.counts[k] || 0), 0);
    page.innerHTML = `<h1>${t("assets.title")} · ${esc(state.brand)} · ${esc(snap.date)}</h1>
      <div class="cards">${[["total", total], ...AIPL.map((k) => [k, snap.counts[k] || 0])].map(([k, v]) =>
        `<div class="card"><div class="k">${esc(k === "total" ? t("total") : snap.labels[k])}</div>
         <div class="v" data-testid="count-${k}">${fmt(v)}</div></div>`).join("")}</div>
      <div class="row"><div><h2>${t("assets.funnel")}</h2><div class="chart" id="funnel"></div></div>
      <div><h2>${t("assets.deeplink")}</h2><div class="chart" id="deeplink"></div></div></div>
      <h2>${t("assets.flow")} · ${esc(start)} → ${esc(day)}</h2><div class="chart" id="sankey" style="height:420px"></div>`;
    chart($("#funnel"), { tooltip: {}, series: [{ type: "funnel", sort: "none", left: "10%", width: "80%",
      label: { formatter: (p) => `${p.name}  ${fmt(p.value)}` },
      data: AIPL.map((k) => ({ name: snap.labels[k], value: snap.counts[k] || 0 })) }] });
    chart($("#deeplink"), { tooltip: {}, grid: { left: 110, right: 30 }, xAxis: { type: "value" },
      yAxis: { type: "category", inverse: true, data: DEEPLINK.map((k) => snap.labels[k]) },
      series: [{ type: "bar", itemStyle: { color: "#ff5000" }, label: { show: true, position: "right" },
        data: DEEPLINK.map((k) => snap.deeplink[k] || 0) }] });
    const states = ["none", ...AIPL];
    const links = [];
    for (const a of states) for (const b of states) {
      const v = (flow.matrix?.[a] || {})[b] || 0;
      const name = (s, d) => `${s === "none" ? (state.lang === "en" ? "none" : "无关系") : snap.labels[s]} · ${d.slice(5)}`;
      if (v > 0 && !(a === "none" && b === "none")) links.push({ source: name(a, start), target: name(b, day), value: v });
    }
    const nodes = [...new Set(links.flatMap((l) => [l.source, l.target]))].map((name) => ({ name }));
    chart($("#sankey"), { tooltip: {}, series: [{ type: "sankey", nodeAlign: "justify", data: nodes, links,
      lineStyle: { color: "gradient", opacity: 0.4 } }] });
  },
});
