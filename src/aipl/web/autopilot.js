// aipl dashboard: the "autopilot" view (万相台). Registered on PAGES; helpers (api, t, chart, table, fmt, pct, esc, $,
// state) come from app.js, which loads first. Budgets go to crowd × channel cells by incremental outcome; the
// attributed (宽) figure only ever stands beside the incremental one.
"use strict";

Object.assign(I18N["zh-CN"], {
  "ap.scenes": "场景（含别名）", "ap.aim": "增量目标", "ap.stages": "目标人群阶段", "ap.cells": "人群 × 渠道 分配",
  "ap.incremental": "增量产出", "ap.attributed": "归因产出（宽口径）", "ap.interval": "90% 区间", "ap.crowd": "人群",
  "ap.heat": "日花费热力图（人群 × 渠道）", "ap.source": "数据来源", "ap.vs": "对比（模拟器真值）",
  "ap.margin.channels": "胜过仅按渠道分配", "ap.margin.equal_split": "胜过平均分配",
  "ap.margin.attributed": "胜过按归因分配", "ap.regret": "与最优解的差距", "ap.whatif": "假设分析",
  "ap.days": "天数", "ap.target": "目标产出", "ap.buys": "该预算可带来", "ap.needs": "达成目标所需日预算",
  "ap.unreachable": "预算上限内无法达成", "ap.run": "计算", "ap.roi": "ROI", "ap.cpo": "单位成本",
  "aim.gmv": "GMV", "aim.new_customer_gmv": "新客成交金额", "aim.fav_cart": "收藏加购", "aim.member_joins": "入会人数",
  "aim.new_item_gmv": "新品成交金额", "aim.hero_item_gmv": "爆款成交金额",
  "ap.simulated": "模拟的人群 × 渠道市场（工作区尚无带留出组的人群 × 渠道投放历史）",
});
Object.assign(I18N.en, {
  "ap.scenes": "Scenes (with aliases)", "ap.aim": "Incremental aim", "ap.stages": "Target stages",
  "ap.cells": "Crowd × channel split", "ap.incremental": "Incremental outcome",
  "ap.attributed": "Attributed (wide scope)", "ap.interval": "90% interval", "ap.crowd": "Crowd",
  "ap.heat": "Spend a day (crowd × channel)", "ap.source": "Source", "ap.vs": "Against the simulator's truth",
  "ap.margin.channels": "over a channel-only plan", "ap.margin.equal_split": "over an equal split",
  "ap.margin.attributed": "over valuing by attribution", "ap.regret": "regret against the oracle",
  "ap.whatif": "What-if", "ap.days": "Days", "ap.target": "Target outcome", "ap.buys": "This budget buys",
  "ap.needs": "Budget a day the target needs", "ap.unreachable": "out of reach within the budget limit",
  "ap.run": "Compute", "ap.roi": "ROI", "ap.cpo": "Cost per outcome",
  "aim.gmv": "GMV", "aim.new_customer_gmv": "new customers' GMV", "aim.fav_cart": "favourites + carts",
  "aim.member_joins": "member joins", "aim.new_item_gmv": "new items' GMV", "aim.hero_item_gmv": "best sellers' GMV",
  "ap.simulated": "a simulated crowd × channel market (the workspace has no crowd × channel delivery with holdouts yet)",
});

// a cell's crowd: a DEEPLINK stage by its name in the chosen language, any other crowd as named
const crowdName = (c) => (DEEPLINK.includes(c) ? stateName(c) : c);

Object.assign(PAGES, {
  async autopilot(page) {
    if (!state.brand) return;  // a hash change before start() has signed in: start() routes here again
    const scenes = await api("/api/autopilot/scenes");  // before any brand call: the brand is known by then
    const seq = await api(`/api/autopilot/${state.brand}/sequence`);
    const names = scenes.items.map((s) => [s.name, ...s.aliases].join(" / "));
    page.innerHTML = `<h1>${t("autopilot.title")}</h1>
      <div data-testid="ap-scenes">${table([[t("ap.scenes"), (r) => esc([r.name, ...r.aliases].join(" / "))],
        [t("ap.aim"), (r) => esc(t(`aim.${r.cell_aim}`))], [t("ap.stages"), (r) => r.stages.map((s) => esc(stateName(s))).join(" · ")]],
        scenes.items)}</div>
      <form class="inline" id="ap-form"><label>${t("scene")} <select id="scene">${scenes.items.map((s, i) =>
        `<option value="${esc(s.name)}">${esc(names[i])}</option>`).join("")}</select></label>
      <label>${t("budget")} <input id="ap-budget" type="number" value="3000" min="1"></label>
      <button class="primary">${t("show")}</button></form><div id="ap-out"></div>
      <h2>${t("ap.whatif")}</h2><form class="inline" id="wi-form">
      <label>${t("ap.days")} <input id="wi-days" type="number" value="10" min="1" max="366"></label>
      <label>${t("budget")} <input id="wi-budget" type="number" value="3000" min="1"></label>
      <label>${t("ap.target")} <input id="wi-target" type="number" min="1"></label>
      <button class="primary">${t("ap.run")}</button></form><div id="wi-out"></div>
      <h2>${t("autopilot.seq")}</h2><div id="seq"></div>`;
    const scene = () => encodeURIComponent($("#scene").value);
    const draw = async () => {
      const p = await api(`/api/autopilot/cells?scene=${scene()}&budget=${$("#ap-budget").value}`);
      const iv = p.interval;
      const cells = p.cells.filter((c) => c.share >= 0.001).sort((a, b) => b.spend - a.spend);
      const cmp = p.comparison;
      $("#ap-out").innerHTML = `<div class="cards"><div class="card"><div class="k">${t("ap.incremental")} · ${esc(t(`aim.${p.aim}`))}</div>
        <div class="v" data-testid="ap-incremental">${fmt(p.incremental, 0)}</div>
        <div class="k">${iv ? `${t("ap.interval")}: ${fmt(iv[0], 0)} – ${fmt(iv[1], 0)}` : ""}</div></div>
        <div class="card"><div class="k">${t("ap.attributed")}</div><div class="v" data-testid="ap-attributed">${fmt(p.attributed, 0)}</div></div>
        <div class="card"><div class="k">${p.roi !== null ? t("ap.roi") : t("ap.cpo")}</div>
        <div class="v">${p.roi !== null ? fmt(p.roi, 2) : fmt(p.cost_per_outcome, 2)}</div></div>
        <div class="card"><div class="k">${t("equal")}</div><div class="v">${fmt(p.equal_split, 0)}</div></div></div>
        ${cmp ? `<p data-testid="ap-margins">${t("ap.vs")}: ${["channels", "equal_split", "attributed"].map((k) =>
          `${t(`ap.margin.${k}`)} <b>${pct(cmp.margin[k])}</b>`).join(" · ")} · ${t("ap.regret")} <b>${pct(cmp.regret.cells)}</b></p>` : ""}
        <p class="muted">${t("ap.source")}: ${p.source.startsWith("simulated") ? `${t("ap.simulated")} <span translate="no">${
          esc(p.source)}</span>` : `<span translate="no">${esc(p.source)}</span>`}</p>
        <h2>${t("ap.heat")}</h2><div class="chart" id="ap-heat"></div>
        <h2>${t("ap.cells")}</h2><div data-testid="ap-cells">${table([[t("channel"), (r) => esc(channel(r.channel))],
          [t("ap.crowd"), (r) => esc(crowdName(r.crowd))], [t("share"), (r) => pct(r.share)], [t("spend"), (r) => fmt(r.spend, 0)],
          [t("ap.incremental"), (r) => `<span data-testid="inc-${esc(r.cell)}">${fmt(r.incremental, 0)}</span>`],
          [t("ap.interval"), (r) => `${fmt(r.incremental_low, 0)} – ${fmt(r.incremental_high, 0)}`],
          [t("ap.attributed"), (r) => fmt(r.attributed, 0)]], cells)}</div>`;
      const chans = [...new Set(p.cells.map((c) => c.channel))];
      const crowds = [...new Set(p.cells.map((c) => c.crowd))];
      chart($("#ap-heat"), { tooltip: {}, grid: { left: 80, right: 10, top: 10, bottom: 60 },
        xAxis: { type: "category", data: chans.map(channel) }, yAxis: { type: "category", data: crowds.map(crowdName) },
        visualMap: { min: 0, max: Math.max(1, ...p.cells.map((c) => c.spend)), orient: "horizontal", left: "center",
          bottom: 0, calculable: false },
        series: [{ type: "heatmap", data: p.cells.map((c) => [chans.indexOf(c.channel), crowds.indexOf(c.crowd),
          +c.spend.toFixed(0)]) }] });
    };
    const whatif = async () => {
      const q = `scene=${scene()}&days=${$("#wi-days").value}`;
      const buys = await api(`/api/autopilot/whatif?${q}&budget=${$("#wi-budget").value}`);
      if (!$("#wi-target").value) $("#wi-target").value = Math.round(1.2 * buys.outcome);  // a reachable start
      const needs = await api(`/api/autopilot/whatif?${q}&target=${$("#wi-target").value}`);
      const bi = needs.budget_interval || [null, null];
      $("#wi-out").innerHTML = `<div class="cards"><div class="card"><div class="k">${t("ap.buys")} (${esc(t(`aim.${buys.aim}`))})</div>
        <div class="v" data-testid="wi-outcome">${fmt(buys.outcome, 0)}</div>
        <div class="k">${t("ap.interval")}: ${fmt(buys.interval[0], 0)} – ${fmt(buys.interval[1], 0)}</div></div>
        <div class="card"><div class="k">${t("ap.needs")}</div><div class="v" data-testid="wi-budget">${
          needs.budget === null ? t("ap.unreachable") : fmt(needs.budget, 0)}</div>
        <div class="k">${needs.budget === null ? "" : `${t("ap.interval")}: ${fmt(bi[0], 0)} – ${fmt(bi[1], 0)}`}</div></div></div>`;
    };
    $("#scene").onchange = () => { $("#wi-target").value = ""; };  // each scene's outcome has its own scale
    $("#ap-form").onsubmit = (e) => { e.preventDefault(); Promise.all([draw(), whatif()]).catch(fail); };
    $("#wi-form").onsubmit = (e) => { e.preventDefault(); whatif().catch(fail); };
    $("#seq").innerHTML = table([[t("stage"), (r) => esc(stateName(r.deeplink))], [t("action"), (r) => esc(t(`act.${r.action}`))],
      [t("consumers"), (r) => fmt(r.consumers)]], seq.items.sort((a, b) =>
      DEEPLINK.indexOf(a.deeplink) - DEEPLINK.indexOf(b.deeplink)));
    await Promise.all([draw(), whatif()]);
  },
});
