// aipl dashboard: the "plan" view. Registered on PAGES; helpers (api, t, chart, table, fmt, pct, esc, $, state)
// come from app.js, which loads first.
"use strict";

Object.assign(PAGES, {
  async plan(page) {
    const camps = (await api("/api/strategy/campaigns")).items;
    const current = camps[camps.length - 1];
    page.innerHTML = `<h1>${t("plan.title")}</h1><form class="inline" id="plan-form">
      <label>${t("campaign")} <select id="camp">${camps.map((c) =>
        `<option ${c === current ? "selected" : ""}>${esc(c.campaign_id)}</option>`).join("")}</select></label>
      <label>${t("target")} <input id="target" type="number" min="1" step="1000"></label>
      <button class="primary">${t("show")}</button></form><div id="plan-out"></div>`;
    const draw = async () => {
      const url = `/api/strategy/${state.brand}/plan?campaign=${encodeURIComponent($("#camp").value)}`;
      if (!$("#target").value) {  // first view: a target 20 % above the forecast
        $("#target").value = Math.round((await api(url)).forecast_gmv * 1.2);
      }
      const p = await api(`${url}&gmv_target=${$("#target").value}`);
      const out = $("#plan-out");
      out.innerHTML = `<div class="cards">
        <div class="card"><div class="k">${t("forecast")}</div><div class="v" data-testid="forecast">${fmt(p.forecast_gmv)}</div></div>
        <div class="card"><div class="k">${t("target")}</div><div class="v">${fmt(p.gmv_target)}</div></div>
        <div class="card"><div class="k">${t("buyers")}</div><div class="v">${fmt(p.buyers_needed)}</div></div></div>
        <h2>${t("pool")}</h2>${table([[t("pool"), (r) => esc(r.label)], [t("cvr"), (r) => pct(r.cvr, 2)],
          [t("current"), (r) => fmt(r.current)], [t("needed"), (r) => fmt(r.size_needed)],
          [t("gap"), (r) => `<span data-testid="gap-${esc(r.pool)}">${fmt(r.gap)}</span>`]], p.pools)}
        <h2>${t("progress")}</h2><div class="chart" id="progress"></div>
        <h2>${t("recs")}</h2><ul>${(p.recommendations || []).map((r) =>
          `<li>${esc(r.label)} — ${esc(r.crowd || "")} <span class="muted">(${fmt(r.crowd_size)})</span></li>`).join("")}</ul>`;
      const days = [...new Set((p.progress?.series || []).map((r) => r.day))].sort();
      const sum = (k) => days.map((d) => {  // all pools together; a day with no value stays empty
        const vals = p.progress.series.filter((r) => r.day === d && r[k] !== null && r[k] !== undefined);
        return vals.length ? vals.reduce((s, r) => s + r[k], 0) : null;
      });
      const names = { this_year: state.lang === "en" ? "this year" : "今年", last_year: state.lang === "en" ?
        "last year" : "去年", benchmark: state.lang === "en" ? "benchmark" : "行业标杆", needed: state.lang === "en" ?
        "needed" : "目标所需" };
      chart($("#progress"), { tooltip: { trigger: "axis" }, legend: {}, xAxis: { type: "category", data: days },
        yAxis: { type: "value" }, series: Object.keys(names).map((k) => ({ name: names[k], type: "line",
          showSymbol: false, data: sum(k) })) });
    };
    $("#plan-form").onsubmit = (e) => { e.preventDefault(); draw().catch(fail); };
    await draw();
  },
});
