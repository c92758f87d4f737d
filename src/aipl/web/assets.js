// aipl dashboard: the "assets" view, for a brand or a category: the counts on the chosen day, the AIPL/DEEPLINK
// trend over the period (last year's line, the peers' P25–P75 band), the funnel by counts, the flow between the
// period's two days, and the DEEPLINK flows with 环比 rates. Helpers and `state` come from app.js (see its header).
"use strict";

(() => {
  Object.assign(I18N["zh-CN"], {
    "assets.trend": "资产趋势", "assets.trendNote": "虚线：去年同期；色带：同行品牌 P25–P75（区间日均）。",
    "assets.trendNoteCat": "虚线：去年同期。", "assets.noLastYear": "去年同期无数据。",
    "assets.bandWithheld": "同行品牌不足，行业色带不予显示（隐私保护）。",
    "assets.dlflow": "DEEPLINK 流转与环比", "assets.moved": "流转人数", "assets.rate": "流转率",
    "assets.prevRate": "上期流转率", "assets.change": "环比变化", "assets.channels": "流转人群的触点（按渠道）",
    "assets.lastYear": "去年", "assets.kinds": "流转类型", "kind.new": "新增", "kind.deepened": "加深",
    "kind.regressed": "回落", "kind.churned": "流失", "kind.stayed": "不变",
  });
  Object.assign(I18N.en, {
    "assets.trend": "Asset trend", "assets.trendNote": "Dashed: the same days last year; band: peer brands' P25–P75 "
      + "(daily average over the period).", "assets.trendNoteCat": "Dashed: the same days last year.",
    "assets.noLastYear": "No data for the same days last year.",
    "assets.bandWithheld": "Too few peer brands: the industry band is withheld (privacy).",
    "assets.dlflow": "DEEPLINK flows and period-on-period rates", "assets.moved": "Moved", "assets.rate": "Flow rate",
    "assets.prevRate": "Previous period", "assets.change": "Change", "assets.channels": "Movers' touches by channel",
    "assets.lastYear": "last year", "assets.kinds": "Kinds of flow", "kind.new": "new", "kind.deepened": "deepened",
    "kind.regressed": "regressed", "kind.churned": "churned", "kind.stayed": "stayed",
  });

  const q = () => `key=${encodeURIComponent(state.key)}&scope=${state.scope}`;
  const sum = (counts, keys) => keys.reduce((s, k) => s + (counts[k] || 0), 0);

  function trendChart(el, s, states) {  // this year solid, last year dashed under the same name, the band per state
    const days = s.items.map((r) => r.day);
    const before = Object.fromEntries(s.last_year.map((r) => [addDays(r.day, 365), r]));
    const band = s.benchmark && !s.benchmark.withheld ? s.benchmark : null;
    const series = states.flatMap((k) => [
      { name: stateName(k), id: k, type: "line", showSymbol: false, color: STATE_COLORS[k],
        data: s.items.map((r) => r[k] ?? null),
        markArea: band?.P25?.[k] === undefined ? undefined : { silent: true, itemStyle: { color: STATE_COLORS[k],
          opacity: 0.12 }, data: [[{ yAxis: band.P25[k] }, { yAxis: band.P75[k] }]] } },
      ...(s.last_year.length ? [{ name: stateName(k), id: `${k}-last-year`, type: "line", showSymbol: false,
        color: STATE_COLORS[k], lineStyle: { type: "dashed", width: 1 }, data: days.map((d) => before[d]?.[k] ?? null) }] : []),
    ]);
    chart(el, { tooltip: { trigger: "axis", valueFormatter: (v) => fmt(v) }, legend: { top: 0, type: "scroll" },
      grid: { left: 56, right: 16, top: 36, bottom: 28 }, xAxis: { type: "category", data: days,
        axisLabel: { formatter: (d) => d.slice(5) } }, yAxis: { type: "value" }, series });
  }

  function funnel(el, counts) {  // a bar funnel by stage (A at the top), each bar as wide as its count, centred
    const top = Math.max(...AIPL.map((k) => counts[k] || 0));
    if (!top) return false;
    chart(el, { tooltip: { formatter: (p) => `${p.name}: ${fmt(p.value)}` }, grid: { left: 70, right: 16, top: 8, bottom: 8 },
      xAxis: { type: "value", show: false, max: top }, yAxis: { type: "category", inverse: true,
        data: AIPL.map(stateName), axisTick: { show: false } },
      series: [{ type: "bar", stack: "f", silent: true, itemStyle: { color: "transparent" }, tooltip: { show: false },
        data: AIPL.map((k) => (top - (counts[k] || 0)) / 2) },
      { type: "bar", stack: "f", id: "funnel", barCategoryGap: "18%", label: { show: true, formatter: (p) => fmt(p.value) },
        data: AIPL.map((k) => ({ value: counts[k] || 0, itemStyle: { color: STATE_COLORS[k] } })) }] });
    return true;
  }

  function deeplinkBars(el, counts) {
    if (!sum(counts, DEEPLINK)) return false;
    chart(el, { tooltip: {}, grid: { left: 70, right: 50, top: 8, bottom: 24 }, xAxis: { type: "value" },
      yAxis: { type: "category", inverse: true, data: DEEPLINK.map(stateName) },
      series: [{ type: "bar", id: "deeplink", label: { show: true, position: "right", formatter: (p) => fmt(p.value) },
        data: DEEPLINK.map((k) => ({ value: counts[k] || 0, itemStyle: { color: STATE_COLORS[k] } })) }] });
    return true;
  }

  function sankey(el, f) {  // nodes are "state on a day", coloured by state; "none" on both days is left out
    const states = ["none", ...AIPL];
    const node = (k, d) => `${k}@${d}`;
    const links = states.flatMap((a) => states.map((b) => ({ a, b, value: f.matrix?.[a]?.[b] || 0 })))
      .filter((l) => l.value > 0 && !(l.a === "none" && l.b === "none"))
      .map((l) => ({ source: node(l.a, f.from), target: node(l.b, f.to), value: l.value }));
    if (!links.length) return false;
    const used = new Set(links.flatMap((l) => [l.source, l.target]));
    const data = [...used].map((name) => ({ name, itemStyle: { color: STATE_COLORS[name.split("@")[0]] } }));
    const label = (name) => { const [k, d] = name.split("@"); return `${stateName(k)} ${d.slice(5)}`; };
    chart(el, { tooltip: { formatter: (p) => (p.dataType === "edge" ? `${label(p.data.source)} → ${label(p.data.target)}: ${
      fmt(p.data.value)}` : `${label(p.name)}: ${fmt(p.value)}`) },
    series: [{ type: "sankey", id: "flow", left: 8, right: 90, top: 8, bottom: 8, nodeAlign: "justify", data, links,
      label: { formatter: (p) => label(p.name), fontSize: 11 }, lineStyle: { color: "source", opacity: 0.35 } }] });
    return true;
  }

  function deeplinkFlows(el, d) {
    const rows = d.flows.filter((r) => r.n > 0).sort((a, b) => b.n - a.n).slice(0, 12);
    if (!rows.length) return false;
    const change = (r) => (r.rate === null || r.previous_rate === null ? null : r.rate - r.previous_rate);
    const top = (ch) => Object.entries(ch || {}).sort((a, b) => b[1] - a[1]).slice(0, 3)
      .map(([k, v]) => `${esc(channel(k))} ${fmt(v)}`).join(" · ");
    el.innerHTML = `<p class="muted">${esc(d.from)} → ${esc(d.to)} · ${esc(d.previous.from)} → ${esc(d.previous.to)}</p>` +
      table([[t("stage"), (r) => `<span style="color:${STATE_COLORS[r.from]}">■</span> ${stateName(r.from)} → ` +
        `<span style="color:${STATE_COLORS[r.to]}">■</span> ${stateName(r.to)}`],
      [t("assets.moved"), (r) => `<span data-testid="dl-${r.from}-${r.to}">${fmt(r.n)}</span>`],
      [t("assets.rate"), (r) => pct(r.rate)], [t("assets.prevRate"), (r) => pct(r.previous_rate)],
      [t("assets.change"), (r) => { const c = change(r); return c === null ? "—" :
        `<span style="color:${upDown(c)}">${c >= 0 ? "+" : ""}${(100 * c).toFixed(1)} pp</span>`; }],
      [t("assets.channels"), (r) => top(r.channels)]], rows);
    return true;
  }

  Object.assign(PAGES, {
    async assets(page) {
      const [snap, s] = await Promise.all([api(`/api/assets/snapshot?${q()}&day=${state.day}`),
        api(`/api/assets/series?${q()}&start=${state.start}&end=${state.end}`)]);
      const total = sum(snap.counts, AIPL);
      const bandNote = s.benchmark?.withheld ? t("assets.bandWithheld") : "";
      page.innerHTML = `<h1>${t("assets.title")} · ${keep(state.key)} · ${esc(snap.date)}</h1>
        <div class="cards">${[["total", total], ...AIPL.map((k) => [k, snap.counts[k] || 0])].map(([k, v]) =>
          `<div class="card"><div class="k">${k === "total" ? t("total") :
            `<span style="color:${STATE_COLORS[k]}">■</span> ${stateName(k)}`}</div>
          <div class="v" data-testid="count-${k}">${fmt(v)}</div></div>`).join("")}</div>
        <h2>${t("assets.trend")} · ${esc(s.start)} … ${esc(s.end)}
          <span class="toggle" id="trend-kind"><button type="button" data-kind="aipl" aria-pressed="true">AIPL</button>` +
          `<button type="button" data-kind="deeplink" aria-pressed="false">DEEPLINK</button></span></h2>
        <div id="trend-box"><div class="chart" id="trend"></div></div>
        <p class="muted">${s.benchmark && !s.benchmark.withheld ? t("assets.trendNote") : t("assets.trendNoteCat")} ${
          s.last_year.length ? "" : t("assets.noLastYear")} ${bandNote}</p>
        <div class="row"><div><h2>${t("assets.funnel")} · ${esc(snap.date)}</h2><div id="funnel-box"></div></div>
        <div><h2>${t("assets.deeplink")} · ${esc(snap.date)}</h2><div id="deeplink-box"></div></div></div>
        <h2>${t("assets.flow")} · ${esc(state.start)} → ${esc(state.end)}</h2><div id="flow-box"></div>
        <h2>${t("assets.dlflow")}</h2><div id="dlflow-box"></div>`;
      const box = (id, draw) => {  // a chart in its own box, or the empty state when it has nothing to draw
        const el = $(`#${id}`);
        el.innerHTML = `<div class="chart${id === "flow-box" ? " tall" : ""}"></div>`;
        if (draw(el.firstChild) === false) el.innerHTML = empty();
      };
      const drawTrend = (kind) => {
        const old = echarts.getInstanceByDom($("#trend"));
        if (old) { old.dispose(); state.charts = state.charts.filter((c) => c !== old); }
        document.querySelectorAll("#trend-kind button").forEach((b) => b.setAttribute("aria-pressed", b.dataset.kind === kind));
        $("#trend").dataset.kind = kind;
        trendChart($("#trend"), s, kind === "aipl" ? AIPL : DEEPLINK);
      };
      if (s.items.length) drawTrend("aipl"); else $("#trend-box").innerHTML = empty();
      document.querySelectorAll("#trend-kind button").forEach((b) => {
        b.onclick = () => { if (s.items.length) drawTrend(b.dataset.kind); };
      });
      box("funnel-box", (el) => funnel(el, snap.counts));
      box("deeplink-box", (el) => deeplinkBars(el, snap.deeplink));
      const range = `${q()}&start=${state.start}&end=${state.end}`;
      await Promise.all([
        load($("#flow-box"), api(`/api/assets/flow?${range}`), (el, f) => {
          box("flow-box", (c) => sankey(c, f));
          el.insertAdjacentHTML("beforeend", `<p class="muted">${t("assets.kinds")}: ${Object.entries(f.kinds || {})
            .map(([k, v]) => `${t(`kind.${k}`)} <span data-testid="kind-${k}">${fmt(v)}</span>`).join(" · ")}</p>`);
        }),
        load($("#dlflow-box"), api(`/api/assets/deeplink-flow?${range}`), deeplinkFlows),
      ]);
    },
  });
})();
