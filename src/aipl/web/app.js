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

const PAGES = {};  // one view per file (assets.js, health.js, …), each adding itself here

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
window.addEventListener("DOMContentLoaded", start);
