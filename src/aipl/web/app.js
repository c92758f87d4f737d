// aipl dashboard: one page per view, data from the REST API, charts with the bundled Apache ECharts.
"use strict";

const I18N = {
  "zh-CN": {
    "nav.assets": "消费者资产", "nav.health": "品牌健康", "nav.plan": "目标规划", "nav.crowds": "人群圈选",
    "nav.autopilot": "万相台", "nav.postmortem": "结案", brand: "品牌", logout: "退出",
    "login.title": "登录 aipl", "login.help": "输入管理员发放的 API 令牌（aipl tenant token）。", "login.go": "登录",
    footer: "数据截至", asOf: "日期", from: "起", to: "止", show: "查看",
    "assets.title": "AIPL / DEEPLINK 消费者资产", "assets.funnel": "AIPL 漏斗", "assets.deeplink": "DEEPLINK 七层",
    "assets.flow": "人群流转（桑基图）", total: "资产总量",
    "health.title": "FAST 健康度与行业分位", "health.rank": "FAST 健康度榜单", "health.grow": "GROW 增长拆解",
    "grow.gmv0": "去年同期 GMV", "grow.gmv1": "本期 GMV", "grow.G": "G 渗透 (买家数)", "grow.R": "R 复购 (频次)",
    "grow.O": "O 价格 (客单)", "grow.W": "W 延展 (新品类)", "grow.note": "ΔGMV = G + R + O（LMDI 精确拆解）；W 为新品类 GMV。",
    "act.content": "种草内容", "act.conversion_ad": "转化广告", "act.coupon": "优惠券", "act.member_offer": "会员权益",
    "act.hold": "频控暂停", "ch.search": "直通车 search", "ch.display": "引力魔方 display", "ch.affiliate": "淘宝客 affiliate",
    "ch.live": "直播 live", "ch.content": "内容 content", "ch.crm": "CRM", "ch.organic": "自然流量 organic",
    pct: "行业分位", metric: "指标", value: "数值", p50: "行业 P50", p90: "行业 P90",
    "plan.title": "GTA 目标拆解", campaign: "大促", target: "GMV 目标", pool: "人群池", cvr: "转化率",
    needed: "所需规模", current: "当前规模", gap: "缺口", forecast: "预测 GMV", buyers: "所需购买人数",
    progress: "蓄水进度（对比去年与行业标杆）", recs: "推荐策略",
    "crowds.title": "人群圈选", "crowds.expr": "人群表达式", "crowds.count": "人群规模", "crowds.save": "保存人群",
    "crowds.name": "名称", "crowds.saved": "已保存的人群", "crowds.source": "来源", of: "共",
    "autopilot.title": "万相台 · 预算分配", scene: "场景", budget: "日预算", channel: "渠道", share: "占比",
    expected: "预期产出", equal: "平均分配", "autopilot.seq": "序列化投放（按 DEEPLINK 阶段的下一步动作）",
    stage: "阶段", action: "动作", consumers: "人数", strategy: "投放策略", cost_first: "消耗优先",
    effect_first: "效率优先", spend: "日花费",
    "pm.title": "结案报告", "pm.run": "生成结案", status: "状态",
    loading: "加载中…", error: "出错了",
    "fresh.asOf": "数据截至", "fresh.lastRun": "最近运行", "fresh.never": "从未运行",
    "fresh.failed": "最近一次日常运行失败", "fresh.late": "日常运行已延迟", "fresh.alerts": "预警",
    "run.ok": "成功", "run.nothing": "无新数据", "run.failed": "失败", "run.unfinished": "未完成",
  },
  en: {
    "nav.assets": "Consumer assets", "nav.health": "Brand health", "nav.plan": "Plan", "nav.crowds": "Crowds",
    "nav.autopilot": "Autopilot", "nav.postmortem": "Post-mortem", brand: "Brand", logout: "Sign out",
    "login.title": "Sign in to aipl", "login.help": "Paste the API token your admin issued (aipl tenant token).",
    "login.go": "Sign in", footer: "data up to", asOf: "Day", from: "From", to: "To", show: "Show",
    "assets.title": "AIPL / DEEPLINK consumer assets", "assets.funnel": "AIPL funnel",
    "assets.deeplink": "DEEPLINK seven stages", "assets.flow": "Flow between two days (Sankey)", total: "Total assets",
    "health.title": "FAST health and industry percentiles", "health.rank": "FAST health ranking",
    "health.grow": "GROW decomposition", pct: "Industry percentile", metric: "Metric", value: "Value",
    p50: "Industry P50", p90: "Industry P90", "grow.gmv0": "GMV, same days last year", "grow.gmv1": "GMV, this period",
    "grow.G": "G penetration (buyers)", "grow.R": "R repurchase (frequency)", "grow.O": "O price (spend per occasion)",
    "grow.W": "W new categories", "grow.note": "ΔGMV = G + R + O exactly (LMDI); W is new-category GMV.",
    "act.content": "content", "act.conversion_ad": "conversion ad", "act.coupon": "coupon",
    "act.member_offer": "member offer", "act.hold": "hold (frequency cap)",
    "plan.title": "GTA: from the GMV target to the pools", campaign: "Campaign", target: "GMV target", pool: "Pool",
    cvr: "CVR", needed: "Size needed", current: "Current size", gap: "Gap", forecast: "Forecast GMV",
    buyers: "Buyers needed", progress: "Pool build-up (against last year and the benchmark)", recs: "Recommendations",
    "crowds.title": "Crowd builder", "crowds.expr": "Crowd expression", "crowds.count": "Crowd size",
    "crowds.save": "Save crowd", "crowds.name": "Name", "crowds.saved": "Saved crowds", "crowds.source": "Source",
    of: "of",
    "autopilot.title": "Autopilot: budget split", scene: "Scene", budget: "Daily budget", channel: "Channel",
    share: "Share", expected: "Expected outcome", equal: "Equal split",
    "autopilot.seq": "Sequenced delivery (next action by DEEPLINK stage)", stage: "Stage", action: "Action",
    consumers: "Consumers", strategy: "Strategy", cost_first: "spend first (消耗优先)",
    effect_first: "efficiency first (效率优先)", spend: "Spend a day", "pm.title": "Campaign post-mortem", "pm.run": "Write the post-mortem", status: "Status",
    loading: "Loading…", error: "Error",
    "fresh.asOf": "data as of", "fresh.lastRun": "last run", "fresh.never": "never run",
    "fresh.failed": "The last daily run failed", "fresh.late": "The daily run is late", "fresh.alerts": "Alerts",
    "run.ok": "ok", "run.nothing": "nothing new", "run.failed": "failed", "run.unfinished": "unfinished",
  },
};
const AIPL = ["A", "I", "P", "L"];
const DEEPLINK = ["discover", "engage", "enthuse", "perform", "initial", "numerous", "keen"];
const state = { lang: localStorage.getItem("aipl.lang") || "zh-CN", brand: null, me: null, lastDay: null, charts: [] };
const t = (k) => (I18N[state.lang][k] ?? k);
const channel = (k) => I18N[state.lang][`ch.${k}`] ?? k;  // a channel (or channel × crowd cell) as marketers say it
const fmt = (v, d = 0) => (v === null || v === undefined || Number.isNaN(v) ? "—" :
  Number(v).toLocaleString(state.lang, { maximumFractionDigits: d, minimumFractionDigits: d }));
const pct = (v, d = 1) => (v === null || v === undefined ? "—" : `${(100 * v).toFixed(d)}%`);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
const $ = (sel) => document.querySelector(sel);

async function api(path, opts = {}) {
  const token = localStorage.getItem("aipl.token");
  const res = await fetch(path, { ...opts, headers: { ...(opts.headers || {}), Authorization: `Bearer ${token}` } });
  if (res.status === 401) { showLogin(); throw new Error("401"); }
  const body = res.headers.get("content-type")?.includes("json") ? await res.json() : await res.text();
  if (!res.ok) throw new Error(typeof body === "object" ? JSON.stringify(body.detail) : body);
  return body;
}

function chart(el, option) {
  const c = echarts.init(el, null, { renderer: "svg" });
  c.setOption({ animation: false, textStyle: { fontFamily: "Noto Sans CJK SC, sans-serif" }, ...option });
  state.charts.push(c);
  return c;
}

function table(cols, rows, cls = () => "") {
  return `<table><thead><tr>${cols.map((c) => `<th>${esc(c[0])}</th>`).join("")}</tr></thead><tbody>${
    rows.map((r) => `<tr class="${cls(r)}">${cols.map((c) => `<td>${c[1](r)}</td>`).join("")}</tr>`).join("")
  }</tbody></table>`;
}

function translate() {
  document.documentElement.lang = state.lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  $("#lang").textContent = state.lang === "en" ? "中文" : "EN";
}

function showLogin(message = "") {
  $("#login").hidden = false;
  $("#page").innerHTML = "";
  $("#login-error").textContent = message;
}

const PAGES = {
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

  async crowds(page) {
    const example = `aipl(brand="${state.brand}") = "I" and age between 18 and 35`;
    page.innerHTML = `<h1>${t("crowds.title")}</h1><label>${t("crowds.expr")}</label>
      <textarea id="expr">${esc(example)}</textarea>
      <p>${t("crowds.count")}: <span class="count" data-testid="crowd-count">…</span>
      <span class="muted" id="count-meta"></span></p>
      <form class="inline" id="save-form"><label>${t("crowds.name")} <input id="crowd-name" maxlength="64"></label>
      <button class="primary">${t("crowds.save")}</button><span id="save-msg" class="muted"></span></form>
      <h2>${t("crowds.saved")}</h2><div id="saved"></div>`;
    let timer = null;
    const count = async () => {
      try {
        const r = await api("/api/crowds/count", { method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ expr: $("#expr").value }) });
        $("[data-testid=crowd-count]").textContent = fmt(r.count);
        $("#count-meta").textContent = `${t("of")} ${fmt(r.of)} · ${r.day} · ${r.ms.toFixed(2)} ms`;
      } catch (e) { $("[data-testid=crowd-count]").textContent = "—"; $("#count-meta").textContent = e.message; }
    };
    const saved = async () => {
      const r = await api("/api/crowds?limit=100");
      $("#saved").innerHTML = table([[t("crowds.name"), (x) => esc(x.name)], [t("consumers"), (x) => fmt(x.coverage)],
        [t("crowds.source"), (x) => esc(x.source || "")], [t("crowds.expr"), (x) => esc(x.expr || "")]], r.items);
    };
    $("#expr").oninput = () => { clearTimeout(timer); timer = setTimeout(count, 250); };
    $("#save-form").onsubmit = async (e) => {
      e.preventDefault();
      try {
        const r = await api("/api/crowds", { method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ name: $("#crowd-name").value, expr: $("#expr").value }) });
        $("#save-msg").textContent = `${r.name}: ${fmt(r.coverage)}`;
        await saved();
      } catch (err) { $("#save-msg").textContent = err.message; }
    };
    await Promise.all([count(), saved()]);
  },

  async autopilot(page) {
    const [scenes, camps] = await Promise.all([api("/api/autopilot/scenes"), api("/api/strategy/campaigns")]);
    page.innerHTML = `<h1>${t("autopilot.title")}</h1><form class="inline" id="ap-form">
      <label>${t("scene")} <select id="scene">${scenes.items.map((s) => `<option>${esc(s.name)}</option>`).join("")}
      </select></label><label>${t("campaign")} <select id="ap-camp">${camps.items.map((c, i) =>
        `<option ${i === camps.items.length - 1 ? "selected" : ""}>${esc(c.campaign_id)}</option>`).join("")}
      </select></label><label>${t("budget")} <input id="ap-budget" type="number" value="200" min="1"></label>
      <label>${t("strategy")} <select id="ap-strategy"><option value="cost_first">${t("cost_first")}</option>
      <option value="effect_first">${t("effect_first")}</option></select></label>
      <button class="primary">${t("show")}</button></form><div id="ap-out"></div>
      <h2>${t("autopilot.seq")}</h2><div id="seq"></div>`;
    const draw = async () => {
      const p = await api(`/api/autopilot/${state.brand}/plan?scene=${encodeURIComponent($("#scene").value)}&campaign=${
        encodeURIComponent($("#ap-camp").value)}&budget=${$("#ap-budget").value}${
        $("#ap-strategy").value === "effect_first" && !["gmv", "new_customer_gmv"].includes(scenes.items.find((s) =>
          s.name === $("#scene").value).aim) ? "" : `&strategy=${$("#ap-strategy").value}`}`);
      const iv = p.objective_interval;
      const rows = Object.entries(p.shares).sort((a, b) => b[1] - a[1]);
      $("#ap-out").innerHTML = `<div class="cards"><div class="card"><div class="k">${t("expected")}</div>
        <div class="v" data-testid="ap-objective">${fmt(p.objective, 1)}</div>
        <div class="k">${iv ? `90%: ${fmt(iv[0], 1)} – ${fmt(iv[1], 1)}` : ""}</div></div>
        <div class="card"><div class="k">${t("spend")}</div><div class="v">${fmt(p.spend, 2)}</div></div>
        <div class="card"><div class="k">${t("equal")}</div><div class="v">${fmt(p.equal_split, 1)}</div></div>
        <div class="card"><div class="k">KPI</div><div class="v" style="font-size:14px">${esc(p.kpis.join(" · "))}</div></div></div>
        <div class="row"><div class="chart" id="ap-pie"></div><div>${table([[t("channel"), (r) => esc(channel(r[0]))],
          [t("share"), (r) => `<span data-testid="share-${esc(r[0])}">${pct(r[1])}</span>`],
          [t("budget"), (r) => fmt(r[1] * p.spend, 2)]], rows)}</div></div>`;
      chart($("#ap-pie"), { tooltip: {}, series: [{ type: "pie", radius: ["35%", "70%"],
        data: rows.map(([k, v]) => ({ name: channel(k), value: +(v * p.spend).toFixed(2) })) }] });
    };
    $("#ap-form").onsubmit = (e) => { e.preventDefault(); draw().catch(fail); };
    const seq = await api(`/api/autopilot/${state.brand}/sequence`);
    $("#seq").innerHTML = table([[t("stage"), (r) => esc(seq.labels[r.deeplink])], [t("action"), (r) => esc(t(`act.${r.action}`))],
      [t("consumers"), (r) => fmt(r.consumers)]], seq.items.sort((a, b) =>
      DEEPLINK.indexOf(a.deeplink) - DEEPLINK.indexOf(b.deeplink)));
    await draw();
  },

  async postmortem(page) {
    const camps = await api("/api/strategy/campaigns");
    page.innerHTML = `<h1>${t("pm.title")}</h1><form class="inline" id="pm-form"><label>${t("campaign")}
      <select id="pm-camp">${camps.items.map((c, i) => `<option ${i === camps.items.length - 1 ? "selected" : ""}>${
        esc(c.campaign_id)}</option>`).join("")}</select></label>
      <button class="primary">${t("pm.run")}</button> <span id="pm-status" data-testid="pm-status"></span></form>
      <iframe id="pm-frame" title="post-mortem"></iframe>`;
    $("#pm-form").onsubmit = async (e) => {
      e.preventDefault();
      let job = await api("/api/jobs/postmortem", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ brand: state.brand, campaign: $("#pm-camp").value }) });
      while (job.status === "queued" || job.status === "running") {
        $("#pm-status").textContent = `${t("status")}: ${job.status} ${pct(job.progress, 0)} ${job.message || ""}`;
        await new Promise((r) => setTimeout(r, 500));
        job = await api(`/api/jobs/${job.id}`);
      }
      $("#pm-status").textContent = `${t("status")}: ${job.status}${job.error ? ` — ${job.error}` : ""}`;
      if (job.status !== "done") return;
      const frame = $("#pm-frame");  // as tall as the report, so the page scrolls instead of a small box
      frame.onload = () => { frame.style.height = `${frame.contentDocument.documentElement.scrollHeight + 20}px`; };
      frame.srcdoc = await api(`/api/jobs/${job.id}/html`);
    };
  },
};

function fail(err) {
  if (err.message !== "401") $("#page").innerHTML = `<p class="error">${t("error")}: ${esc(err.message)}</p>`;
}

async function freshness() {  // every page: the data's as-of day, the last run, a banner when failed or late
  const [f, a] = await Promise.all([api("/api/freshness"), api("/api/alerts")]);
  const run = f.last_run;
  $("#freshness").textContent = `${t("fresh.asOf")} ${f.as_of ?? "—"} · ${t("fresh.lastRun")} ` +
    (run ? `${(run.ended || run.started || "").slice(0, 16).replace("T", " ")} UTC (${t(`run.${run.outcome}`)})` : t("fresh.never"));
  const banner = $("#banner");
  const bad = f.status === "failed" ? `${t("fresh.failed")}: ${run.failed_step} — ${run.message ?? ""}`
    : f.status === "late" ? `${t("fresh.late")} (> ${f.late_hours} h)` : "";
  const mine = a.alerts.filter((x) => x.brand_id === state.brand);
  banner.innerHTML = (bad ? `<p class="banner-bad">${esc(bad)}</p>` : "") + (mine.length ?
    `<p class="banner-alert"><b>${t("fresh.alerts")}</b> ${mine.map((x) => esc(x.message)).join(" · ")}</p>` : "");
  banner.hidden = !banner.innerHTML;
  banner.dataset.status = f.status;
}

async function route() {
  freshness().catch(() => {});
  state.charts.forEach((c) => c.dispose());
  state.charts = [];
  const name = (location.hash || "#assets").slice(1);
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.hash === `#${name}`));
  const page = $("#page");
  page.innerHTML = `<p class="muted">${t("loading")}</p>`;
  page.dataset.ready = "";
  try { await (PAGES[name] || PAGES.assets)(page); page.dataset.ready = name; } catch (err) { fail(err); }
}

async function start() {
  translate();
  if (!localStorage.getItem("aipl.token")) { showLogin(); return; }
  try {
    state.me = await api("/api/me");
    const brands = await api("/api/brands?limit=500");
    state.lastDay = brands.last_day;
    state.brand = localStorage.getItem("aipl.brand");
    if (!state.me.brands.includes(state.brand)) state.brand = state.me.brands[0];
    $("#brand").innerHTML = state.me.brands.map((b) => `<option ${b === state.brand ? "selected" : ""}>${esc(b)}</option>`).join("");
    $("#who").textContent = `${state.me.tenant} (${state.me.role}) · ${t("footer")} ${state.lastDay}`;
    $("#login").hidden = true;
    await route();
  } catch (err) { if (err.message !== "401") showLogin(err.message); }
}

$("#login-form").onsubmit = (e) => { e.preventDefault(); localStorage.setItem("aipl.token", $("#token").value.trim()); start(); };
$("#logout").onclick = () => { localStorage.removeItem("aipl.token"); showLogin(); };
$("#lang").onclick = () => { state.lang = state.lang === "en" ? "zh-CN" : "en"; localStorage.setItem("aipl.lang", state.lang); start(); };
$("#brand").onchange = (e) => { state.brand = e.target.value; localStorage.setItem("aipl.brand", state.brand); route(); };
window.addEventListener("hashchange", route);
window.addEventListener("resize", () => state.charts.forEach((c) => c.resize()));
start();
