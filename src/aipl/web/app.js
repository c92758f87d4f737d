// aipl dashboard: the shell (sign-in, header pickers, routing) and the helpers every view uses. Each view is its
// own file (assets.js, health.js, plan.js, crowds.js, autopilot.js, postmortem.js) that adds itself to PAGES:
//   (() => { Object.assign(PAGES, { async myview(page) { … } }); })();  then one <script> line and one nav <a> in
//   index.html. Keep a view's own helpers inside its (() => { … })() so top-level names of two views cannot clash.
//   A view is ready for the browser tests when the shell sets #page[data-ready=<view>] after its function returns.
//
// What a view reads from `state` (set by the header's pickers and kept in the URL hash, so a view can be shared:
// #assets?scope=category&key=beauty&day=2025-11-13&start=2025-10-15&end=2025-11-13&preset=30):
//   state.scope   "brand" | "category": what the header's picker chose
//   state.key     the brand id or the category id chosen (read with state.scope)
//   state.brand   always a brand: the chosen one, or, under category scope, the last brand chosen (brand-only views)
//   state.day     the day of a snapshot (YYYY-MM-DD; default the data's last day)
//   state.start   the period's first day, state.end its last day (default the 30 days to the last day);
//                 state.preset is "7", "30", "90", "campaign" (the running or last campaign) or "custom"
//   state.lastDay the data's last day; state.lang "zh-CN" | "en"; state.me the caller (/api/me)
// A view that cannot use a category says so with empty(t("scope.brandOnly")) and reads state.brand.
//
// Helpers: api(path, opts) · t(key) · tr("认知 Awareness") (the chosen language's half of an API's bilingual label) ·
// stateName(k) (AIPL state or DEEPLINK stage) · STATE_COLORS[k] (one colour per state, in every chart) ·
// upDown(v) (red-up/green-down in zh-CN, green-up in en) · chart(el, option) · table(cols, rows) · fmt · pct ·
// esc · keep(name) (a name or a deliberate bilingual term, left untranslated) · $ · loading(el) · empty(msg) ·
// load(el, promise, render) (loading, then render or an empty/error state, in one section of a view) · fail(err).
// An api() answer that arrives after the user moved to another view or choice throws Error("stale"): let it
// propagate (or pass it to fail(), which ignores it), so an old answer never draws over the new view.
// Translations: a view adds its keys at the top of its own file, both languages:
//   Object.assign(I18N["zh-CN"], { "myview.title": "…" }); Object.assign(I18N.en, { "myview.title": "…" });
"use strict";

const I18N = {
  "zh-CN": {
    "nav.assets": "消费者资产", "nav.health": "品牌健康", "nav.plan": "目标规划", "nav.crowds": "人群圈选",
    "nav.autopilot": "万相台", "nav.postmortem": "结案", brand: "品牌", category: "品类", logout: "退出",
    "scope.label": "范围", "scope.brandOnly": "此处按品牌计算，请在顶部选择一个品牌。",
    "login.title": "登录 aipl", "login.help": "输入管理员发放的 API 令牌（aipl tenant token）。", "login.go": "登录",
    "login.bad": "令牌无效、已过期或已被撤销，请重新输入。",
    footer: "数据截至", asOf: "日期", from: "起", to: "止", show: "查看", day: "日期", period: "周期",
    "preset.7": "近 7 天", "preset.30": "近 30 天", "preset.90": "近 90 天", "preset.campaign": "本次大促",
    "preset.custom": "自定义",
    "role.viewer": "查看者", "role.analyst": "分析师", "role.admin": "管理员",
    "state.none": "无关系", "state.A": "认知", "state.I": "兴趣", "state.P": "购买", "state.L": "忠诚",
    "state.discover": "发现", "state.engage": "种草", "state.enthuse": "热爱", "state.perform": "行动",
    "state.initial": "首购", "state.numerous": "复购", "state.keen": "忠诚",
    "assets.title": "AIPL / DEEPLINK 消费者资产", "assets.funnel": "AIPL 漏斗", "assets.deeplink": "DEEPLINK 七层",
    "assets.flow": "人群流转（桑基图）", total: "资产总量",
    "health.title": "FAST 健康度与行业分位", "health.rank": "FAST 健康度榜单", "health.grow": "GROW 增长拆解",
    "grow.gmv0": "去年同期 GMV", "grow.gmv1": "本期 GMV", "grow.G": "G 渗透 (买家数)", "grow.R": "R 复购 (频次)",
    "grow.O": "O 价格 (客单)", "grow.W": "W 延展 (新品类)", "grow.note": "ΔGMV = G + R + O（LMDI 精确拆解）；W 为新品类 GMV。",
    "act.content": "种草内容", "act.conversion_ad": "转化广告", "act.coupon": "优惠券", "act.member_offer": "会员权益",
    "act.hold": "频控暂停", "ch.search": "直通车", "ch.display": "引力魔方", "ch.affiliate": "淘宝客",
    "ch.live": "直播", "ch.content": "内容", "ch.crm": "CRM", "ch.organic": "自然流量", "ch.(none)": "无触点",
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
    loading: "加载中…", error: "出错了", empty: "所选范围内暂无数据。", "menu": "菜单",
    "fresh.asOf": "数据截至", "fresh.lastRun": "最近运行", "fresh.never": "从未运行",
    "fresh.failed": "最近一次日常运行失败", "fresh.stale": "结果已过期（配置已变更）", "fresh.late": "日常运行已延迟", "fresh.alerts": "预警",
    "run.ok": "成功", "run.nothing": "无新数据", "run.failed": "失败", "run.unfinished": "未完成",
  },
  en: {
    "nav.assets": "Consumer assets", "nav.health": "Brand health", "nav.plan": "Plan", "nav.crowds": "Crowds",
    "nav.autopilot": "Autopilot", "nav.postmortem": "Post-mortem", brand: "Brand", category: "Category",
    logout: "Sign out", "scope.label": "Scope", "scope.brandOnly": "This is computed per brand: choose a brand at the top.",
    "login.title": "Sign in to aipl", "login.help": "Paste the API token your admin issued (aipl tenant token).",
    "login.go": "Sign in", "login.bad": "That token was not accepted (unknown, expired or revoked). Paste a valid one.",
    footer: "data up to", asOf: "Day", from: "From", to: "To", show: "Show", day: "Day", period: "Period",
    "preset.7": "Last 7 days", "preset.30": "Last 30 days", "preset.90": "Last 90 days",
    "preset.campaign": "This campaign", "preset.custom": "Custom",
    "role.viewer": "viewer", "role.analyst": "analyst", "role.admin": "admin",
    "state.none": "none", "state.A": "Awareness", "state.I": "Interest", "state.P": "Purchase", "state.L": "Loyalty",
    "state.discover": "Discover", "state.engage": "Engage", "state.enthuse": "Enthuse", "state.perform": "Perform",
    "state.initial": "Initial", "state.numerous": "Numerous", "state.keen": "Keen",
    "assets.title": "AIPL / DEEPLINK consumer assets", "assets.funnel": "AIPL funnel",
    "assets.deeplink": "DEEPLINK seven stages", "assets.flow": "Flow between two days (Sankey)", total: "Total assets",
    "health.title": "FAST health and industry percentiles", "health.rank": "FAST health ranking",
    "health.grow": "GROW decomposition", pct: "Industry percentile", metric: "Metric", value: "Value",
    p50: "Industry P50", p90: "Industry P90", "grow.gmv0": "GMV, same days last year", "grow.gmv1": "GMV, this period",
    "grow.G": "G penetration (buyers)", "grow.R": "R repurchase (frequency)", "grow.O": "O price (spend per occasion)",
    "grow.W": "W new categories", "grow.note": "ΔGMV = G + R + O exactly (LMDI); W is new-category GMV.",
    "act.content": "content", "act.conversion_ad": "conversion ad", "act.coupon": "coupon",
    "act.member_offer": "member offer", "act.hold": "hold (frequency cap)", "ch.search": "search ads",
    "ch.display": "display ads", "ch.affiliate": "affiliates", "ch.live": "live streams", "ch.content": "content",
    "ch.crm": "CRM", "ch.organic": "organic", "ch.(none)": "no touch",
    "plan.title": "GTA: from the GMV target to the pools", campaign: "Campaign", target: "GMV target", pool: "Pool",
    cvr: "CVR", needed: "Size needed", current: "Current size", gap: "Gap", forecast: "Forecast GMV",
    buyers: "Buyers needed", progress: "Pool build-up (against last year and the benchmark)", recs: "Recommendations",
    "crowds.title": "Crowd builder", "crowds.expr": "Crowd expression", "crowds.count": "Crowd size",
    "crowds.save": "Save crowd", "crowds.name": "Name", "crowds.saved": "Saved crowds", "crowds.source": "Source",
    of: "of",
    "autopilot.title": "Autopilot: budget split", scene: "Scene", budget: "Daily budget", channel: "Channel",
    share: "Share", expected: "Expected outcome", equal: "Equal split",
    "autopilot.seq": "Sequenced delivery (next action by DEEPLINK stage)", stage: "Stage", action: "Action",
    consumers: "Consumers", strategy: "Strategy", cost_first: "spend first", effect_first: "efficiency first",
    spend: "Spend a day", "pm.title": "Campaign post-mortem", "pm.run": "Write the post-mortem", status: "Status",
    loading: "Loading…", error: "Error", empty: "No data for this choice.", "menu": "Menu",
    "fresh.asOf": "data as of", "fresh.lastRun": "last run", "fresh.never": "never run",
    "fresh.failed": "The last daily run failed", "fresh.stale": "Stale results (the settings changed)", "fresh.late": "The daily run is late", "fresh.alerts": "Alerts",
    "run.ok": "ok", "run.nothing": "nothing new", "run.failed": "failed", "run.unfinished": "unfinished",
  },
};
const AIPL = ["A", "I", "P", "L"];
const DEEPLINK = ["discover", "engage", "enthuse", "perform", "initial", "numerous", "keen"];
// One colour per state in every chart (lines, bars, funnel, Sankey nodes); DEEPLINK stages in their AIPL parent's hue.
const STATE_COLORS = Object.freeze({
  none: "#9ca3af", A: "#38bdf8", I: "#6366f1", P: "#f59e0b", L: "#ef4444",
  discover: "#7dd3fc", engage: "#a5b4fc", enthuse: "#818cf8", perform: "#4f46e5",
  initial: "#f59e0b", numerous: "#f87171", keen: "#b91c1c",
});
const PRESETS = ["7", "30", "90", "campaign", "custom"];
const state = {
  lang: localStorage.getItem("aipl.lang") || "zh-CN", scope: "brand", key: null, brand: null, day: null,
  start: null, end: null, preset: "30", me: null, lastDay: null, categories: [], campaigns: [], charts: [], seq: 0,
};
const t = (k) => (I18N[state.lang][k] ?? k);
const CJK = /[\u3000-\u9fff\uff00-\uffef]/;
// "认知 Awareness" → "认知" in zh-CN, "Awareness" in en (a label without both halves comes back whole).
const tr = (label) => {
  const words = String(label ?? "").split(/\s+/).filter(Boolean);
  const zh = words.filter((w) => CJK.test(w));
  const en = words.filter((w) => !CJK.test(w));
  const mine = state.lang === "en" ? en : zh;
  return zh.length && en.length && mine.length ? mine.join(state.lang === "en" ? " " : "") : String(label ?? "");
};
const stateName = (k) => t(`state.${k}`);
const channel = (k) => I18N[state.lang][`ch.${k}`] ?? tr(k);  // a channel (or channel × crowd cell) as marketers say it
// a change's colour: red up and green down in zh-CN (the Chinese convention), green up and red down in en; 0 is grey
const upDown = (v) => (!v ? "#6b7280" : (v > 0) === (state.lang !== "en") ? "#dc2626" : "#16a34a");
const fmt = (v, d = 0) => (v === null || v === undefined || Number.isNaN(v) ? "—" :
  Number(v).toLocaleString(state.lang, { maximumFractionDigits: d, minimumFractionDigits: d }));
const pct = (v, d = 1) => (v === null || v === undefined ? "—" : `${(100 * v).toFixed(d)}%`);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
const keep = (s) => `<span translate="no">${esc(s)}</span>`;
const $ = (sel) => document.querySelector(sel);
const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);
const addDays = (d, n) => isoDay(Date.parse(d) + n * 864e5);

async function api(path, opts = {}) {
  const token = localStorage.getItem("aipl.token");
  const seq = state.seq;
  const res = await fetch(path, { ...opts, headers: { ...(opts.headers || {}), Authorization: `Bearer ${token}` } });
  if (res.status === 401) { showLogin(t("login.bad")); throw new Error("401"); }
  const body = res.headers.get("content-type")?.includes("json") ? await res.json() : await res.text();
  if (!res.ok) throw new Error(typeof body === "object" ? JSON.stringify(body.detail) : body);
  if (seq !== state.seq) throw new Error("stale");  // the user moved on: this answer belongs to an older view
  return body;
}

function chart(el, option) {
  const c = echarts.init(el, null, { renderer: "svg" });
  c.setOption({ animation: false, textStyle: { fontFamily: "Noto Sans CJK SC, sans-serif" }, ...option });
  state.charts.push(c);
  return c;
}

function table(cols, rows, cls = () => "") {
  return `<div class="table-wrap"><table><thead><tr>${cols.map((c) => `<th>${esc(c[0])}</th>`).join("")}</tr></thead>
    <tbody>${rows.map((r) => `<tr class="${cls(r)}">${cols.map((c) => `<td>${c[1](r)}</td>`).join("")}</tr>`).join("")
  }</tbody></table></div>`;
}

const loading = (el) => { el.innerHTML = `<p class="loading" role="status"><span class="spinner"></span>${t("loading")}</p>`; };
const empty = (msg) => `<p class="empty" data-empty>${esc(msg || t("empty"))}</p>`;
const errorBox = (err) => `<p class="error">${t("error")}: ${esc(err.message)}</p>`;

// One section of a view: a spinner while `promise` runs, then `render(el, value)`; `render` returns false for
// "nothing to show" (the empty state); an error shows in the section, not over the whole view.
async function load(el, promise, render) {
  loading(el);
  try {
    const value = await promise;
    el.innerHTML = "";
    if ((await render(el, value)) === false) el.innerHTML = empty();
  } catch (err) {
    if (err.message === "stale") throw err;
    if (err.message !== "401") el.innerHTML = errorBox(err);
  }
}

function translate() {
  document.documentElement.lang = state.lang;
  document.title = `aipl · ${state.lang === "en" ? "consumer operations" : "消费者运营"}`;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-label]").forEach((el) => el.setAttribute("aria-label", t(el.dataset.i18nLabel)));
  $("#lang").textContent = state.lang === "en" ? "中文" : "EN";
  $("#lang").setAttribute("translate", "no");
}

function showLogin(message = "") {
  $("#login").hidden = false;
  $("#timebar").hidden = true;
  $("#page").innerHTML = "";
  $("#page").dataset.ready = "";
  $("#login-error").textContent = message;
}

const PAGES = {};  // one view per file (assets.js, health.js, …), each adding itself here

function fail(err) {
  if (err.message !== "401" && err.message !== "stale") $("#page").innerHTML = errorBox(err);
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
  const stale = (f.stale || []).map((s) => s.message);  // derived tables built with other settings
  banner.innerHTML = (bad ? `<p class="banner-bad">${esc(bad)}</p>` : "") + (stale.length ?
    `<p class="banner-bad" data-testid="stale"><b>${t("fresh.stale")}</b> ${stale.map(esc).join(" · ")}</p>` : "") + (mine.length ?
    `<p class="banner-alert"><b>${t("fresh.alerts")}</b> ${mine.map((x) => esc(x.message)).join(" · ")}</p>` : "");
  banner.hidden = !banner.innerHTML;
  banner.dataset.status = f.status;
}

// --- scope and time: the header's pickers, `state` and the URL hash ---

function campaignPeriod() {  // the running campaign, else the last one that started, clipped to the data
  const started = state.campaigns.filter((c) => c.start <= state.lastDay);
  const c = started[started.length - 1];
  return c ? [c.start, c.end < state.lastDay ? c.end : state.lastDay] : null;
}

function applyPreset(preset) {
  const end = state.lastDay;
  const period = preset === "campaign" ? campaignPeriod() : [addDays(end, 1 - Number(preset)), end];
  if (!period) return;
  [state.start, state.end] = period;
  state.day = state.end;
  state.preset = preset;
}

function params() {
  return new URLSearchParams({ scope: state.scope, key: state.key, day: state.day, start: state.start,
    end: state.end, preset: state.preset }).toString();
}

function readHash() {  // the view's name, and the pickers' values when the hash carries them
  const [name, query] = (location.hash.slice(1) || "assets").split("?");
  const q = new URLSearchParams(query || "");
  const day = /^\d{4}-\d{2}-\d{2}$/;
  const valid = { brand: state.me.brands, category: state.categories };
  const scope = q.get("scope");
  if (valid[scope]?.includes(q.get("key"))) [state.scope, state.key] = [scope, q.get("key")];
  if (state.scope === "brand") state.brand = state.key;
  const dated = day.test(q.get("start") || "") && day.test(q.get("end") || "");
  if (PRESETS.includes(q.get("preset"))) {  // a preset without its days (a hand-written link) is worked out here
    if (dated || q.get("preset") === "custom") state.preset = q.get("preset"); else applyPreset(q.get("preset"));
  }
  for (const k of ["day", "start", "end"]) if (day.test(q.get(k) || "")) state[k] = q.get(k);
  if (state.start > state.end) [state.start, state.end] = [state.end, state.start];
  return PAGES[name] ? name : "assets";
}

function showPickers() {
  const opt = (scope, k) => `<option value="${scope}:${esc(k)}" ${state.scope === scope && state.key === k ?
    "selected" : ""}>${esc(k)}</option>`;
  $("#scope").innerHTML = `<optgroup label="${t("brand")}">${state.me.brands.map((b) => opt("brand", b)).join("")}</optgroup>` +
    (state.categories.length ? `<optgroup label="${t("category")}">${state.categories.map((c) => opt("category", c))
      .join("")}</optgroup>` : "");
  $("#preset").innerHTML = PRESETS.filter((p) => p !== "campaign" || campaignPeriod())
    .map((p) => `<option value="${p}" ${p === state.preset ? "selected" : ""}>${t(`preset.${p}`)}</option>`).join("");
  for (const k of ["day", "start", "end"]) { $(`#${k}`).value = state[k]; $(`#${k}`).max = state.lastDay; }
}

function go() {  // the pickers changed: a new hash (a shareable link, one history entry), which routes
  location.hash = `${(location.hash.slice(1) || "assets").split("?")[0]}?${params()}`;
}

async function route() {
  if (!state.me) return;
  const seq = ++state.seq;
  const name = readHash();
  history.replaceState(null, "", `#${name}?${params()}`);
  showPickers();
  freshness().catch(() => {});
  state.charts.forEach((c) => c.dispose());
  state.charts = [];
  document.querySelectorAll("nav a").forEach((a) => {
    const view = a.dataset.view;
    a.href = `#${view}?${params()}`;
    a.classList.toggle("active", view === name);
    if (view === name) a.scrollIntoView({ block: "nearest", inline: "nearest" });
  });
  const page = $("#page");
  loading(page);
  page.dataset.ready = "";
  try {
    await PAGES[name](page);
    if (seq === state.seq) { page.dataset.ready = name; page.dataset.params = params(); }
  } catch (err) { if (seq === state.seq) fail(err); }
}

async function start() {
  translate();
  if (!localStorage.getItem("aipl.token")) { showLogin(); return; }
  try {
    state.me = null;
    const [me, brands, camps] = await Promise.all([api("/api/me"), api("/api/brands?limit=500"),
      api("/api/strategy/campaigns").catch(() => ({ items: [] }))]);
    state.lastDay = brands.last_day;
    state.campaigns = camps.items;
    state.categories = me.categories ?? [...new Set(brands.items.map((b) => b.category_id).filter(Boolean))].sort();
    state.brand = localStorage.getItem("aipl.brand");
    if (!me.brands.includes(state.brand)) state.brand = me.brands[0] ?? null;
    [state.scope, state.key] = state.brand ? ["brand", state.brand] : ["category", state.categories[0] ?? null];
    applyPreset(state.preset);
    state.me = me;
    $("#who").innerHTML = `${keep(me.tenant)} (${t(`role.${me.role}`)})`;
    $("#login").hidden = true;
    $("#timebar").hidden = false;
    await route();
  } catch (err) { if (err.message !== "401") showLogin(err.message); }
}

$("#login-form").onsubmit = (e) => { e.preventDefault(); localStorage.setItem("aipl.token", $("#token").value.trim()); start(); };
$("#logout").onclick = () => { localStorage.removeItem("aipl.token"); state.me = null; showLogin(); };
$("#lang").onclick = () => { state.lang = state.lang === "en" ? "zh-CN" : "en"; localStorage.setItem("aipl.lang", state.lang); start(); };
$("#scope").onchange = (e) => {
  const [scope, ...key] = e.target.value.split(":");
  [state.scope, state.key] = [scope, key.join(":")];
  if (scope === "brand") { state.brand = state.key; localStorage.setItem("aipl.brand", state.brand); }
  go();
};
$("#preset").onchange = (e) => { if (e.target.value !== "custom") applyPreset(e.target.value); else state.preset = "custom"; go(); };
$("#day").onchange = (e) => { if (e.target.value) { state.day = e.target.value; go(); } };
for (const k of ["start", "end"]) {
  $(`#${k}`).onchange = (e) => { if (e.target.value) { state[k] = e.target.value; state.preset = "custom"; go(); } };
}
window.addEventListener("hashchange", route);
window.addEventListener("resize", () => state.charts.forEach((c) => c.resize()));
window.addEventListener("DOMContentLoaded", start);
