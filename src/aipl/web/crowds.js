// aipl dashboard: the "crowds" view. Registered on PAGES; helpers (api, t, chart, table, fmt, pct, esc, $, state)
// come from app.js, which loads first.
"use strict";

Object.assign(PAGES, {
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
});
