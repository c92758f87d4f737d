// aipl dashboard: the "postmortem" view. Registered on PAGES; helpers (api, t, chart, table, fmt, pct, esc, $, state)
// come from app.js, which loads first.
"use strict";

Object.assign(PAGES, {
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
});
