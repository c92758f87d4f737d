// aipl dashboard: the "plan" view. Registered on PAGES; helpers (api, t, chart, table, fmt, pct, esc, $, state)
// come from app.js, which loads first.
"use strict";

Object.assign(I18N["zh-CN"], {
  "plan.naive": "朴素预测（去年 GMV）", "plan.interval": "90% 区间", "plan.method": "预测方法",
  "plan.warnings": "预测提示", "plan.bench": "标杆", "plan.goal": "目标达成", "plan.actual": "实际 GMV",
  "plan.vsTarget": "达成率（对目标）", "plan.vsForecast": "对预测", "plan.vsNaive": "对朴素预测",
  "plan.upcoming": "大促尚未开始：预售开始后显示达成进度。", "plan.running": "进行中，截至", "plan.finished": "已结束",
  "plan.forecastSize": "预测规模", "plan.naiveSize": "去年规模", "plan.poolModel": "池模型",
  "plan.m.pool": "GTA 池模型", "plan.m.naive": "去年大促重来", "plan.m.growth": "去年 × 人群池增长",
  "plan.m.blend": "池模型与朴素预测的平均", "plan.backtest": "回测误差", "plan.n": "次往期大促",
});
Object.assign(I18N.en, {
  "plan.naive": "Naive forecast (last year's GMV)", "plan.interval": "90% interval", "plan.method": "Method",
  "plan.warnings": "Forecast warnings", "plan.bench": "Benchmark", "plan.goal": "Goal progress",
  "plan.actual": "Actual GMV", "plan.vsTarget": "vs target", "plan.vsForecast": "vs forecast",
  "plan.vsNaive": "vs naive forecast", "plan.upcoming": "Not started yet: progress shows from the presale.",
  "plan.running": "Running, through", "plan.finished": "Finished", "plan.forecastSize": "Forecast size",
  "plan.naiveSize": "Last year's size", "plan.poolModel": "pool model", "plan.m.pool": "GTA pool model",
  "plan.m.naive": "last year's campaign again", "plan.m.growth": "last year × pool growth",
  "plan.m.blend": "mean of pool model and naive", "plan.backtest": "backtest error", "plan.n": "past campaigns",
});

function goalCard(p) {  // where a running or finished campaign stands against the target and the forecasts
  const g = p.goal || { status: "upcoming" };
  if (g.status === "upcoming") return `<p class="muted" data-testid="goal">${t("plan.upcoming")}</p>`;
  const head = g.status === "finished" ? t("plan.finished") : `${t("plan.running")} ${esc(g.through)}`;
  return `<h2>${t("plan.goal")} <span class="muted">${head}</span></h2><div class="cards" data-testid="goal">
    <div class="card"><div class="k">${t("plan.actual")}</div><div class="v" data-testid="actual">${fmt(g.gmv)}</div></div>
    <div class="card"><div class="k">${t("plan.vsTarget")}</div><div class="v">${pct(g.vs_target)}</div></div>
    <div class="card"><div class="k">${t("plan.vsForecast")}</div><div class="v">${pct(g.vs_forecast)}</div></div>
    <div class="card"><div class="k">${t("plan.vsNaive")}</div><div class="v">${pct(g.vs_naive)}</div></div></div>`;
}

function methodNote(p) {  // which method, why, the backtest errors, the benchmark and every warning
  const errs = Object.entries(p.backtest?.errors || {}).map(([m, e]) => `${esc(m)} ${pct(e)}`).join(", ");
  const bench = p.progress?.benchmark;
  return `<p class="muted" data-testid="method">${t("plan.method")}: <b>${esc(p.method)}</b> (${t(`plan.m.${p.method}`)})
    ${errs ? `· ${t("plan.backtest")} ${errs} · ${p.backtest.n_campaigns} ${t("plan.n")}` : ""}
    · ${t("plan.poolModel")} ${fmt(p.pool_gmv)}${bench ? ` · ${t("plan.bench")}: <span data-testid="bench">${esc(bench.label)}</span>` : ""}</p>
    ${(p.warnings || []).length ? `<ul class="warnings" data-testid="warnings">${p.warnings.map((w) =>
    `<li><b>${esc(w.code)}</b> ${esc(w.message)}</li>`).join("")}</ul>` : ""}`;
}

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
        <div class="card"><div class="k">${t("forecast")}</div><div class="v" data-testid="forecast">${fmt(p.forecast_gmv)}</div>
          <div class="muted" data-testid="interval">${t("plan.interval")} ${fmt(p.gmv_interval.low)}–${fmt(p.gmv_interval.high)}</div></div>
        <div class="card"><div class="k">${t("plan.naive")}</div><div class="v" data-testid="naive">${fmt(p.naive_gmv)}</div></div>
        <div class="card"><div class="k">${t("target")}</div><div class="v">${fmt(p.gmv_target)}</div></div>
        <div class="card"><div class="k">${t("buyers")}</div><div class="v">${fmt(p.buyers_needed)}</div></div></div>
        ${methodNote(p)}${goalCard(p)}
        <h2>${t("pool")}</h2>${table([[t("pool"), (r) => esc(r.label)], [t("cvr"), (r) => pct(r.cvr, 2)],
          [t("current"), (r) => fmt(r.current)], [t("plan.forecastSize"), (r) => r.size_low === null ? fmt(r.forecast_size)
            : `${fmt(r.forecast_size)} <span class="muted">${fmt(r.size_low)}–${fmt(r.size_high)}</span>`],
          [t("plan.naiveSize"), (r) => fmt(r.naive_size)], [t("needed"), (r) => fmt(r.size_needed)],
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
