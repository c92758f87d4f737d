// aipl dashboard: the "health" view: FAST against the industry, the 榜单, and GROW over the chosen period against
// the same days a year earlier. Helpers and `state` come from app.js (see its header).
"use strict";

(() => {
  Object.assign(I18N["zh-CN"], {
    "fast.F": "F 可运营人群", "fast.A": "A 加深率", "fast.S": "S 会员规模", "fast.T": "T 会员活跃率",
    p25: "行业 P25", p75: "行业 P75", score: "得分", rank: "排名", peer: "同行", "health.bench": "品类行业分位",
    "health.withheld": "同行品牌不足，行业分位不予显示（隐私保护）。", "grow.delta": "Δ GMV",
    "grow.segments": "新老客拆解", "seg.new": "新客", "seg.returning": "老客", "grow.up": "红色为增长，绿色为下降。",
    "health.noBrand": "这份数据没有品牌（只有类目）：FAST 健康度、榜单和 GROW 都按品牌计算，这里没有可显示的内容。请在“消费者资产”查看类目的 AIPL、趋势与流转。",
  });
  Object.assign(I18N.en, {
    "fast.F": "F reachable consumers", "fast.A": "A deepening rate", "fast.S": "S members", "fast.T": "T member activity",
    p25: "Industry P25", p75: "Industry P75", score: "Score", rank: "Rank", peer: "peer",
    "health.bench": "The category's industry percentiles",
    "health.withheld": "Too few peer brands: the industry percentiles are withheld (privacy).", "grow.delta": "Δ GMV",
    "grow.segments": "New and returning customers", "seg.new": "new", "seg.returning": "returning",
    "grow.up": "Green is growth, red is decline.",
    "health.noBrand": "This data has no brands, only categories: FAST, the ranking and GROW are per brand, so there is nothing to show here. The category's AIPL, trend and flows are under Consumer assets.",
  });

  const FAST = ["F", "A", "S", "T"];
  const lastYear = (d) => `${Number(d.slice(0, 4)) - 1}${d.slice(4)}`;
  const fastNum = (m, v) => (m === "A" || m === "T" ? pct(v) : fmt(v));  // F, S are counts; A, T rates
  const withheld = (why) => (why ? `<p class="muted" data-testid="withheld">${
    state.lang === "en" ? esc(why) : t("health.withheld")}</p>` : "");

  function rankingTable(items, category) {
    return table([[t("rank"), (r) => r.rank ?? "—"], [t("brand"), (r) => (r.own ? keep(r.brand_id) : t("peer"))],
      [t("score"), (r) => `<span data-testid="${r.own ? `score-${esc(r.brand_id)}` : ""}">${fmt(r.score, 1)}</span>`],
      ["F", (r) => fmt(r.F)], ["A", (r) => pct(r.A)], ["S", (r) => fmt(r.S)], ["T", (r) => pct(r.T)]],
    items.filter((r) => r.category_id === category), (r) => (r.own ? "own" : ""));
  }

  function growSection(el, g) {
    const parts = ["G", "R", "O", "W"];
    const rows = [["grow.gmv0", "gmv0"], ["grow.gmv1", "gmv1"], ["grow.delta", "delta"], ...parts.map((k) => [`grow.${k}`, k])];
    const segs = Object.entries(g.segments || {});
    el.innerHTML = `<div class="row"><div>${table([[t("metric"), (r) => t(r[0])], [t("value"), (r) =>
      `<span data-testid="grow-${r[1]}" style="color:${r[1].startsWith("gmv") ? "inherit" : upDown(g[r[1]])}">${
        fmt(g[r[1]], 0)}</span>`]], rows)}<p class="muted">${t("grow.note")} ${t("grow.up")}</p></div>
      <div class="chart" id="grow"></div></div>
      ${segs.length ? `<h2>${t("grow.segments")}</h2>${table([[t("metric"), ([k]) => t(`seg.${k}`)],
        [t("grow.gmv0"), ([, s]) => fmt(s.gmv0)], [t("grow.gmv1"), ([, s]) => fmt(s.gmv1)],
        ...["G", "R", "O"].map((k) => [k, ([, s]) => `<span style="color:${upDown(s[k])}">${fmt(s[k])}</span>`])], segs)}` : ""}`;
    chart($("#grow"), { tooltip: {}, grid: { left: 60, right: 16, bottom: 60 },
      xAxis: { type: "category", axisLabel: { interval: 0, width: 80, overflow: "break" }, data: parts.map((k) => t(`grow.${k}`).replace(/ [(（].*$/, "")) },
      yAxis: { type: "value" }, series: [{ type: "bar", label: { show: true, position: "top", formatter: (p) => fmt(p.value) },
        data: parts.map((k) => ({ value: Math.round(g[k]), itemStyle: { color: upDown(g[k]) } })) }] });
  }

  Object.assign(PAGES, {
    async health(page) {
      const { start, end } = state;
      const category = state.scope === "category" ? state.key : null;
      let fast, rank;
      try {
        [fast, rank] = await Promise.all([api(`/api/health/fast?start=${start}&end=${end}`),
          api(`/api/health/ranking?limit=500&start=${start}&end=${end}${category ? `&category=${encodeURIComponent(category)}` : ""}`)]);
      } catch (err) {  // category-only data (e.g. UserBehavior): the API says "no brand" (422)
        if (!/no brand/.test(err.message)) throw err;
        page.innerHTML = `<h1>${t("health.title")}</h1>${empty(t("health.noBrand"))}`;
        return;
      }
      const mine = category ? null : fast.brands.find((b) => b.brand_id === state.brand);
      const cat = category ?? mine?.category_id;
      const bench = fast.benchmarks.filter((b) => b.category_id === cat);
      const q = (m, p) => bench.find((b) => b.metric === m)?.[p];
      page.innerHTML = `<h1>${t("health.title")} · ${keep(state.key)} · ${esc(fast.from)} … ${esc(fast.to)}</h1>
        <div id="fast"></div>
        <div class="row"><div><h2>${mine ? t("pct") : t("health.bench")}</h2><div class="chart" id="radar"></div></div>
        <div><h2>${t("health.rank")}</h2><div id="rank"></div></div></div>
        <h2>${t("health.grow")} · ${esc(lastYear(start))} … ${esc(lastYear(end))} → ${esc(start)} … ${esc(end)}</h2>
        <div id="grow-out"></div>`;
      if (mine) {
        $("#fast").innerHTML = `${table([[t("metric"), (m) => t(`fast.${m}`)], [t("value"), (m) =>
          `<span data-testid="fast-${m}">${fastNum(m, mine[m])}</span>`], [t("pct"), (m) => pct(mine[`${m}_pct`], 0)],
        [t("p50"), (m) => fastNum(m, q(m, "P50"))], [t("p90"), (m) => fastNum(m, q(m, "P90"))]], FAST)}${withheld(mine.withheld)}`;
        if (FAST.some((m) => mine[`${m}_pct`] !== null)) {
          chart($("#radar"), { tooltip: {}, radar: { indicator: FAST.map((m) => ({ name: t(`fast.${m}`), max: 1 })),
            radius: "60%" }, series: [{ type: "radar", data: [{ name: state.brand, value: FAST.map((m) => mine[`${m}_pct`]),
            areaStyle: { opacity: 0.2 } }] }] });
        } else $("#radar").outerHTML = empty(mine.withheld ? t("health.withheld") : "");
      } else {
        $("#fast").innerHTML = bench.length ? `${table([[t("metric"), (m) => t(`fast.${m}`)],
          ...["P25", "P50", "P75", "P90"].map((p) => [t(p.toLowerCase()), (m) =>
            `<span data-testid="bench-${m}-${p}">${fastNum(m, q(m, p))}</span>`])], FAST)}${withheld(bench[0].withheld)}`
          : empty();
        const scale = (m) => Math.max(...["P25", "P50", "P75", "P90"].map((p) => q(m, p) ?? 0)) || 1;
        if (bench.length && !bench[0].withheld) {
          chart($("#radar"), { tooltip: {}, legend: { bottom: 0 }, radar: { indicator: FAST.map((m) => ({ name: t(`fast.${m}`),
            max: scale(m) })), radius: "60%" }, series: [{ type: "radar", data: ["P25", "P50", "P75", "P90"].map((p) =>
            ({ name: t(p.toLowerCase()), value: FAST.map((m) => q(m, p)) })) }] });
        } else $("#radar").outerHTML = empty(bench[0]?.withheld ? t("health.withheld") : "");
      }
      const ranked = rankingTable(rank.items, cat);
      $("#rank").innerHTML = rank.items.some((r) => r.category_id === cat) ? ranked : empty();
      if (!mine) { $("#grow-out").innerHTML = empty(t("scope.brandOnly")); return; }
      await load($("#grow-out"), api(`/api/health/grow/${encodeURIComponent(state.brand)}?start0=${lastYear(start)}&end0=${
        lastYear(end)}&start1=${start}&end1=${end}`), growSection);
    },
  });
})();
