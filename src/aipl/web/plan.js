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
  "plan.w.unsettled": "去年统计人群池时，购买窗口尚未填满：去年的人群池与转化率不能与今年直接比较。",
  "plan.w.no_history": "该品牌去年大促没有购买者：转化率取自类目或默认值。",
  "plan.w.few_buyers": "去年大促购买者过少（少于 [strategy] min_buyers）：转化率波动大。",
  "plan.w.no_backtest": "没有可回测的往期大促：预测准确度未知，无法证明达到 5% 的 GMV 误差目标。",
  "plan.w.inaccurate": "该方法在本品牌往期大促上的误差超过 5% 目标：请把预测看作一个区间。",
  "plan.w.wide_interval": "用于估计区间的往期品牌大促过少：区间按 ±50% 显示。",
  "plan.b.industry": "行业标杆：{n} 个同行品牌的 P75", "plan.b.external": "行业标杆（外部）：",
  "plan.b.peer": "同行参考（n={n}，不足以称为行业标杆）", "plan.b.none": "无标杆（没有同行品牌）",
  "pool.L": "忠诚 L（活动前）", "pool.P": "活动前 P", "pool.I_xu": "蓄水期 I", "pool.A_xu": "蓄水期 A",
  "pool.I_act": "活动期 I", "pool.A_act": "活动期 A", "pool.O": "机会 O", "pool.direct": "直接成交",
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
  "plan.b.industry": "industry benchmark: P75 of {n} peer brands", "plan.b.external": "industry benchmark (external): ",
  "plan.b.peer": "peer reference (n={n}, too few for an industry benchmark)", "plan.b.none": "no benchmark (no peer brands)",
  "pool.L": "Loyal L (before the campaign)", "pool.P": "P before the campaign", "pool.I_xu": "I, build-up phase",
  "pool.A_xu": "A, build-up phase", "pool.I_act": "I, campaign phase", "pool.A_act": "A, campaign phase",
  "pool.O": "Opportunity O", "pool.direct": "direct purchases",
});

// a warning in the chosen language: the engine's message in English, a translation by its code in Chinese
const warningText = (w) => (state.lang === "en" ? w.message : t(`plan.w.${w.code}`));
// the benchmark behind the gaps, named honestly: industry only with enough peers or an external source
const benchText = (b) => (b.source !== "peers" ? `${t("plan.b.external")}${b.source}`
  : b.industry ? t("plan.b.industry").replace("{n}", b.peers) : b.peers ? t("plan.b.peer").replace("{n}", b.peers)
    : t("plan.b.none"));
// a recommendation: its name in the chosen language (the engine writes "中文 · English"), its crowd as an expression
const recName = (label) => { const [zh, en] = String(label).split(" · "); return state.lang === "en" ? en ?? zh : zh; };

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
  return `<p class="muted" data-testid="method">${t("plan.method")}: <b translate="no">${esc(p.method)}</b> (${t(`plan.m.${p.method}`)})
    ${errs ? `· ${t("plan.backtest")} ${errs} · ${p.backtest.n_campaigns} ${t("plan.n")}` : ""}
    · ${t("plan.poolModel")} ${fmt(p.pool_gmv)}${bench ? ` · ${t("plan.bench")}: <span data-testid="bench">${esc(benchText(bench))}</span>` : ""}</p>
    ${(p.warnings || []).length ? `<ul class="warnings" data-testid="warnings">${p.warnings.map((w) =>
    `<li><b translate="no">${esc(w.code)}</b> ${esc(warningText(w))}</li>`).join("")}</ul>` : ""}`;
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
        <h2>${t("pool")}</h2>${table([[t("pool"), (r) => esc(t(`pool.${r.pool}`))], [t("cvr"), (r) => pct(r.cvr, 2)],
          [t("current"), (r) => fmt(r.current)], [t("plan.forecastSize"), (r) => r.size_low === null ? fmt(r.forecast_size)
            : `${fmt(r.forecast_size)} <span class="muted">${fmt(r.size_low)}–${fmt(r.size_high)}</span>`],
          [t("plan.naiveSize"), (r) => fmt(r.naive_size)], [t("needed"), (r) => fmt(r.size_needed)],
          [t("gap"), (r) => `<span data-testid="gap-${esc(r.pool)}">${fmt(r.gap)}</span>`]], p.pools)}
        <h2>${t("progress")}</h2><div class="chart" id="progress"></div>
        <h2>${t("recs")}</h2><ul>${(p.recommendations || []).map((r) =>
          `<li>${esc(recName(r.label))} — <code title="${esc(r.crowd || "")}">${esc(r.crowd_expr || "")}</code> <span class="muted">(${
            fmt(r.crowd_size)})</span></li>`).join("")}</ul>`;
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
