// aipl dashboard: the "autopilot" view. Registered on PAGES; helpers (api, t, chart, table, fmt, pct, esc, $, state)
// come from app.js, which loads first.
"use strict";

Object.assign(PAGES, {
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
});
