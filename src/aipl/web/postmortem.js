// aipl dashboard: the "postmortem" view. Registered on PAGES; helpers (api, t, chart, table, fmt, pct, esc, $, state)
// come from app.js, which loads first. The report (结案) holds the cuts by new/returning customer, strategy crowd,
// crowd, creative, channel and phase, the CVRs with their denominators, PI and the lift; the view shows the latest
// one written for the brand and campaign, or writes a new one.
"use strict";

Object.assign(I18N["zh-CN"], {
  "pm.latest": "最近一次结案", "pm.none": "尚无该活动的结案：点击生成", "pm.contents": "含新老客、策略人群、人群、创意、渠道、阶段分析，宽窄口径转化率及其分母，购买意向指数 PI 与增量",
});
Object.assign(I18N.en, {
  "pm.latest": "Latest post-mortem", "pm.none": "No post-mortem of this campaign yet: write one",
  "pm.contents": "Cuts by new/returning customer, strategy crowd, crowd, creative, channel and phase, both CVRs with their denominators, purchase intent (PI) and the lift",
});

Object.assign(PAGES, {
  async postmortem(page) {
    const camps = await api("/api/strategy/campaigns");
    page.innerHTML = `<h1>${t("pm.title")}</h1><p class="muted">${t("pm.contents")}</p>
      <form class="inline" id="pm-form"><label>${t("campaign")}
      <select id="pm-camp">${camps.items.map((c, i) => `<option ${i === camps.items.length - 1 ? "selected" : ""}>${
        esc(c.campaign_id)}</option>`).join("")}</select></label>
      <button class="primary">${t("pm.run")}</button> <span id="pm-status" data-testid="pm-status"></span></form>
      <iframe id="pm-frame" title="post-mortem"></iframe>`;
    const show = async (job) => {
      const frame = $("#pm-frame");  // as tall as the report, so the page scrolls instead of a small box
      frame.onload = () => { frame.style.height = `${frame.contentDocument.documentElement.scrollHeight + 20}px`; };
      frame.srcdoc = await api(`/api/jobs/${job.id}/html`);
    };
    const latest = async () => {  // the newest finished post-mortem of this brand and campaign, if any
      const file = `postmortem-${state.brand}-${$("#pm-camp").value}.html`;
      const jobs = await api("/api/jobs?limit=50");
      for (const j of jobs.items.filter((j) => j.kind === "postmortem" && j.status === "done")) {
        const job = await api(`/api/jobs/${j.id}`);
        if (job.result && String(job.result.html || "").endsWith(file)) return job;
      }
      return null;
    };
    const load = async () => {
      const job = await latest();
      $("#pm-status").textContent = job ? `${t("pm.latest")}: ${job.created}` : t("pm.none");
      if (job) await show(job);
      else $("#pm-frame").srcdoc = "";
    };
    $("#pm-camp").onchange = load;
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
      if (job.status === "done") await show(job);
    };
    await load();
  },
});
