// aipl dashboard: the "crowds" view, a 达摩盘-style crowd builder. Registered on PAGES; helpers (api, t, chart,
// table, fmt, pct, esc, $, state) come from app.js, which loads first. The crowd language lives in the API: the
// groups are a tree (POST /api/crowds/text writes its text), and edited text is parsed back (POST /api/crowds/parse).
"use strict";

Object.assign(I18N["zh-CN"], {
  "crowds.title": "人群圈选", "crowds.expr": "人群表达式", "crowds.count": "人群规模", "crowds.save": "保存人群",
  "crowds.name": "名称", "crowds.saved": "已保存的人群", "crowds.source": "来源", of: "共",
  "cb.catalogue": "标签目录", "cb.search": "搜索标签（中文或英文）", "cb.groups": "条件组（交 / 并 / 差）",
  "cb.and": "交 且", "cb.or": "并 或", "cb.minus": "差 排除", "cb.not": "非", "cb.addLeaf": "+ 条件",
  "cb.addGroup": "+ 条件组", "cb.remove": "删除", "cb.reset": "清空", "cb.kind.number": "数值",
  "cb.kind.category": "类别", "cb.per.brand": "品牌", "cb.per.category": "类目", "cb.count": "行为次数",
  "cb.crowdRef": "已有人群", "cb.event": "行为", "cb.days": "天数", "cb.value": "取值", "cb.noTags": "没有匹配的标签",
  "cb.insight": "TGI 洞察", "cb.compare": "对比人群", "cb.everyone": "全体消费者", "cb.analyse": "分析",
  "cb.tag": "标签", "cb.inCrowd": "人群占比", "cb.inBase": "对比人群占比", "cb.tgi": "TGI",
  "cb.lookalike": "相似人群扩展", "cb.lalRule": "模型未胜过加购/收藏规则，已改用规则圈人",
  "cb.lalHoldout": "留出组精确率 模型/规则", "cb.multiple": "放大倍数", "cb.estimate": "预计规模",
  "cb.expand": "扩展", "cb.lalDone": "已扩展", "cb.export": "审计导出", "cb.idType": "标识类型", "cb.hash": "加密",
  "cb.none": "不加密", "cb.format": "格式", "cb.doExport": "导出", "cb.download": "下载文件", "cb.auditId": "审计编号",
  "cb.rows": "行数", "cb.builtin": "内置人群", "cb.use": "使用", "cb.size": "规模", "cb.group": "分组",
  "cb.group.strategy": "八大策略人群", "cb.group.lower_tier": "下沉市场人群", "cb.group.apparel": "服饰策略人群",
  "cb.group.cross_category": "跨品类人群", "cb.withheld": "不可见", "cb.cross": "跨品类渗透（服饰 × 美妆）",
  "cb.penetration": "渗透率", "cb.spend": "服饰策略人群人均消费对比大盘", "cb.index": "指数（大盘 = 100）",
  "cb.perCapita": "人均消费", "cb.market": "大盘人均", "cb.empty": "暂无数据", "cb.saved": "已保存",
  "cb.id.consumer_id": "消费者编号", "cb.id.phone": "手机号", "cb.id.oaid": "OAID", "cb.id.idfa": "IDFA",
  "cb.cat.apparel": "服饰", "cb.cat.beauty": "美妆", "cb.cat.food": "食品", "cb.invalid": "表达式有误",
  "cb.list": "名单", "cb.buyers": "购买人数",
});
Object.assign(I18N.en, {
  "crowds.title": "Crowd builder", "crowds.expr": "Crowd expression", "crowds.count": "Crowd size",
  "crowds.save": "Save crowd", "crowds.name": "Name", "crowds.saved": "Saved crowds", "crowds.source": "Source",
  of: "of", "cb.catalogue": "Tag catalogue", "cb.search": "Search tags (English or Chinese)",
  "cb.groups": "Condition groups (AND / OR / MINUS)", "cb.and": "AND", "cb.or": "OR", "cb.minus": "MINUS",
  "cb.not": "NOT", "cb.addLeaf": "+ condition", "cb.addGroup": "+ group", "cb.remove": "Remove", "cb.reset": "Clear",
  "cb.kind.number": "number", "cb.kind.category": "label", "cb.per.brand": "brand", "cb.per.category": "category",
  "cb.count": "Behaviour count", "cb.crowdRef": "Existing crowd", "cb.event": "Event", "cb.days": "days",
  "cb.value": "Value", "cb.noTags": "No tag matches", "cb.insight": "TGI insight", "cb.compare": "Compare with",
  "cb.everyone": "Everyone", "cb.analyse": "Analyse", "cb.tag": "Tag", "cb.inCrowd": "Share in crowd",
  "cb.inBase": "Share in comparison", "cb.tgi": "TGI", "cb.lookalike": "Lookalike expansion",
  "cb.lalRule": "the model did not beat the cart/favourite rule, so the rule chose the crowd",
  "cb.lalHoldout": "held-out precision, model / rule",
  "cb.multiple": "Multiple", "cb.estimate": "Expected size", "cb.expand": "Expand", "cb.lalDone": "Expanded",
  "cb.export": "Audited export", "cb.idType": "ID type", "cb.hash": "Hash", "cb.none": "none", "cb.format": "Format",
  "cb.doExport": "Export", "cb.download": "Download the file", "cb.auditId": "Audit id", "cb.rows": "Rows",
  "cb.builtin": "Built-in crowds", "cb.use": "Use", "cb.size": "Size", "cb.group": "Group",
  "cb.group.strategy": "Strategy crowds", "cb.group.lower_tier": "Lower-tier markets",
  "cb.group.apparel": "Apparel strategy crowds", "cb.group.cross_category": "Cross-category", "cb.withheld": "withheld",
  "cb.cross": "Cross-category penetration (Fashion × Beauty)", "cb.penetration": "Penetration",
  "cb.spend": "Apparel strategy crowds: spend per head against the market", "cb.index": "Index (market = 100)",
  "cb.perCapita": "Spend per head", "cb.market": "Market per head", "cb.empty": "No data yet", "cb.saved": "saved",
  "cb.id.consumer_id": "consumer id", "cb.id.phone": "phone", "cb.id.oaid": "OAID", "cb.id.idfa": "IDFA",
  "cb.cat.apparel": "Apparel", "cb.cat.beauty": "Beauty", "cb.cat.food": "Food", "cb.invalid": "The expression is invalid",
  "cb.list": "List", "cb.buyers": "Buyers",
});

const CB = {
  OPS: { number: ["=", "!=", "<", "<=", ">", ">=", "between", "in"], category: ["=", "!=", "in"] },
  EVENTS: ["purchase", "add_to_cart", "favorite", "pdp_view", "search_brand_word", "coupon_claim", "follow"],
  JSON: { method: "POST", headers: { "Content-Type": "application/json" } },
  // a tree as nested groups ({op, not, items}) and conditions ({leaf, not}), and back
  toModel(tree) {
    if (tree.not) {
      const m = CB.toModel(tree.not);
      if (!m.not) { m.not = true; return m; }
      return { op: "and", not: true, items: [m] };
    }
    for (const op of ["and", "or", "minus"]) if (tree[op]) return { op, not: false, items: tree[op].map(CB.toModel) };
    return { leaf: tree, not: false };
  },
  toTree(m) {
    let tree;
    if (m.leaf) tree = m.leaf;
    else {
      const items = m.items.map(CB.toTree).filter(Boolean);
      if (!items.length) return null;
      tree = items.length === 1 ? items[0] : m.op === "minus" ? { minus: [items[0], items.length === 2 ? items[1]
        : { or: items.slice(1) }] } : { [m.op]: items };
    }
    return m.not ? { not: tree } : tree;
  },
  label(tag) { return tag ? (state.lang === "en" ? tag.en : tag.zh) : ""; },
  valueLabel(v) { return state.lang === "en" ? v.en : v.zh; },
  num(v) { const x = Number(v); return v === "" || Number.isNaN(x) ? v : x; },
};

Object.assign(PAGES, {
  async crowds(page) {
    const start = state.start || null;
    page.innerHTML = `<style>
      .cb-grid { display: grid; grid-template-columns: minmax(220px, 1fr) 2fr; gap: 16px; }
      .cb-two { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
      @media (max-width: 760px) { .cb-grid, .cb-two { grid-template-columns: 1fr; } }
      .cb-tags { max-height: 520px; overflow: auto; background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; padding: 6px; }
      .cb-tag { padding: 6px; border-bottom: 1px solid #f1f5f9; } .cb-tag b { cursor: pointer; }
      .cb-chip { display: inline-block; margin: 2px; padding: 1px 6px; border-radius: 10px; background: #eef2ff;
        font-size: 12px; cursor: pointer; border: 0; }
      .cb-group { border-left: 3px solid #6366f1; padding: 6px 8px; margin: 6px 0; background: #f8fafc; border-radius: 4px; }
      .cb-group.neg { border-left-color: #dc2626; } .cb-leaf { display: flex; flex-wrap: wrap; gap: 4px; margin: 4px 0;
        align-items: center; } .cb-leaf.neg { background: #fef2f2; }
      .cb-leaf input { width: 90px; } .cb-bar { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
      .cb-card { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; padding: 10px; margin: 8px 0; }
      .cb-chart { height: 320px; } #expr { min-height: 60px; } .cb-leaf select { max-width: 170px; }
      #cb-export-msg code { word-break: break-all; }
    </style>
    <h1>${t("crowds.title")}</h1>
    <div class="cb-grid">
      <section><h2>${t("cb.catalogue")}</h2><input id="cb-search" type="search" placeholder="${esc(t("cb.search"))}"
        style="width:100%"><div class="cb-tags" id="cb-tags"><p class="muted">${t("loading")}</p></div></section>
      <section><h2>${t("cb.groups")}</h2><div id="cb-groups"></div>
        <label>${t("crowds.expr")}</label><textarea id="expr" data-testid="crowd-expr"></textarea>
        <p id="cb-error" class="error"></p>
        <p>${t("crowds.count")}: <span class="count" data-testid="crowd-count">…</span>
          <span class="muted" id="count-meta"></span></p>
        <div class="cb-card"><form class="cb-bar" id="save-form"><label>${t("crowds.name")}
          <input id="crowd-name" maxlength="64" required pattern="[A-Za-z0-9_\\-\\u4e00-\\u9fff]+"></label>
          <button class="primary">${t("crowds.save")}</button><span id="save-msg" class="muted"></span></form></div>
      </section>
    </div>
    <div class="cb-two">
      <section class="cb-card"><h2>${t("cb.insight")}</h2><div class="cb-bar"><label>${t("cb.compare")}
        <select id="cb-base"><option value="">${t("cb.everyone")}</option></select></label>
        <button id="cb-analyse" type="button">${t("cb.analyse")}</button></div>
        <div id="cb-tgi-msg" class="muted"></div><div class="chart cb-chart" id="cb-tgi" data-testid="tgi-chart"></div>
        <div id="cb-tgi-table"></div></section>
      <section>
        <div class="cb-card"><h2>${t("cb.lookalike")}</h2><div class="cb-bar"><label>${t("cb.multiple")}
          <input id="cb-k" type="range" min="0.5" max="10" step="0.5" value="3"></label><b id="cb-k-val">×3</b>
          <span>${t("cb.estimate")}: <b id="cb-lal-size">—</b></span>
          <button id="cb-expand" type="button">${t("cb.expand")}</button></div><p id="cb-lal-msg" class="muted"></p></div>
        <div class="cb-card"><h2>${t("cb.export")}</h2><form class="cb-bar" id="cb-export-form">
          <label>${t("cb.idType")} <select id="cb-id-type">${["consumer_id", "phone", "oaid", "idfa"].map((x) =>
            `<option value="${x}">${t(`cb.id.${x}`)}</option>`).join("")}</select></label>
          <label>${t("cb.hash")} <select id="cb-hash"><option value="">${t("cb.none")}</option>
            <option value="md5">MD5</option><option value="sha256">SHA-256</option></select></label>
          <label>${t("cb.format")} <select id="cb-format" translate="no"><option value="csv">CSV</option><option value="txt">TXT</option><option value="parquet">Parquet</option>
          </select></label><button class="primary">${t("cb.doExport")}</button></form>
          <div id="cb-export-msg" data-testid="export-result"></div></div>
      </section>
    </div>
    <section class="cb-card"><h2>${t("cb.builtin")}</h2><div id="cb-builtin"><p class="muted">${t("loading")}</p></div></section>
    <div class="cb-two">
      <section class="cb-card"><h2>${t("cb.cross")}</h2><div id="cb-cross-msg" class="muted"></div>
        <div class="chart cb-chart" id="cb-cross" data-testid="cross-chart"></div></section>
      <section class="cb-card"><h2>${t("cb.spend")}</h2><div id="cb-spend-msg" class="muted"></div>
        <div class="chart cb-chart" id="cb-spend"></div></section>
    </div>
    <section class="cb-card"><h2>${t("crowds.saved")}</h2><div id="saved"></div></section>`;

    let tags = {}, model = { op: "and", not: false, items: [] }, lastCount = null, timer = null, seq = 0;
    const post = (path, body) => api(path, { ...CB.JSON, body: JSON.stringify(body) });
    const expr = () => $("#expr").value.trim();

    const count = async () => {
      const mine = ++seq;
      const box = $("[data-testid=crowd-count]");
      if (!expr()) { box.textContent = "—"; $("#count-meta").textContent = ""; return; }
      box.textContent = "…";
      try {
        const r = await post("/api/crowds/count", { expr: expr() });
        if (mine !== seq) return;
        lastCount = r.count;
        box.textContent = fmt(r.count);
        box.dataset.value = r.count;
        $("#count-meta").textContent = `${t("of")} ${fmt(r.of)} · ${r.day} · ${r.ms.toFixed(2)} ms`;
        $("#cb-error").textContent = "";
      } catch (e) { if (mine === seq) { box.textContent = "—"; $("#cb-error").textContent = e.message; } }
      slider();
    };
    const slider = () => {
      const k = Number($("#cb-k").value);
      $("#cb-k-val").textContent = `×${k}`;
      $("#cb-lal-size").textContent = lastCount === null ? "—" : fmt(Math.round(k * lastCount));
    };
    const fromGroups = async () => {  // the groups changed: write the expression, then count
      const tree = CB.toTree(model);
      if (!tree) { $("#expr").value = ""; await count(); return; }
      try {
        const r = await post("/api/crowds/text", { tree });
        $("#expr").value = r.expr;
        $("#cb-error").textContent = "";
      } catch (e) { $("#cb-error").textContent = `${t("cb.invalid")}: ${e.message}`; return; }
      await count();
    };
    const fromText = async () => {  // the text changed: read it back into the groups, then count
      if (!expr()) { model = { op: "and", not: false, items: [] }; render(); await count(); return; }
      try {
        const r = await post("/api/crowds/parse", { expr: expr() });
        const m = CB.toModel(r.tree);
        model = m.leaf || m.not ? { op: "and", not: false, items: [m] } : m;
        render();
        $("#cb-error").textContent = "";
      } catch (e) { $("#cb-error").textContent = `${t("cb.invalid")}: ${e.message}`; return; }
      await count();
    };

    // ---- the groups
    const at = (path) => path.split(".").filter((x) => x !== "").reduce((m, i) => m.items[Number(i)], model);
    const defaultLeaf = (name = "age") => {
      const tag = tags[name];
      if (!tag) return { tag: name, key: null, op: ">=", value: 18 };
      const v = tag.values[0] || { key: null, value: tag.kind === "number" ? 0 : "" };
      return { tag: name, key: tag.key ? v.key : null, op: tag.kind === "number" ? ">=" : "=", value: v.value };
    };
    const leafHtml = (m, path) => {
      const leaf = m.leaf;
      const parts = [`<label><input type="checkbox" data-act="not" ${m.not ? "checked" : ""}> ${t("cb.not")}</label>`];
      const kindSel = `<select data-act="kind">${[["tag", t("cb.tag")], ["count", t("cb.count")], ["crowd", t("cb.crowdRef")],
        ["list", t("cb.list")]].map(([k, l]) => `<option value="${k}" ${(leaf[k] !== undefined) ? "selected" : ""}>${l}</option>`).join("")}</select>`;
      parts.push(kindSel);
      if (leaf.crowd !== undefined || leaf.list !== undefined) {
        const k = leaf.crowd !== undefined ? "crowd" : "list";
        parts.push(`<input data-act="ref" data-k="${k}" value="${esc(leaf[k])}" aria-label="${t("crowds.name")}">`);
      } else if (leaf.count) {
        const c = leaf.count;
        parts.push(`<select data-act="event">${CB.EVENTS.concat(CB.EVENTS.includes(c.event) ? [] : [c.event]).map((e) =>
          `<option ${e === c.event ? "selected" : ""}>${esc(e)}</option>`).join("")}</select>`);
        parts.push(`<select data-act="cbrand"><option value="">${t("cb.per.brand")}: —</option>${state.me.brands.map((b) =>
          `<option ${b === c.brand ? "selected" : ""}>${esc(b)}</option>`).join("")}</select>`);
        parts.push(`<input data-act="days" type="number" min="1" value="${c.days}" aria-label="${t("cb.days")}"> ${t("cb.days")}`);
        parts.push(`<select data-act="op">${CB.OPS.number.slice(0, 6).map((o) =>
          `<option ${o === leaf.op ? "selected" : ""}>${esc(o)}</option>`).join("")}</select>`);
        parts.push(`<input data-act="value" type="number" value="${esc(leaf.value)}" aria-label="${t("cb.value")}">`);
      } else {
        const tag = tags[leaf.tag] || { kind: "category", values: [], key: null };
        parts.push(`<select data-act="tag">${Object.values(tags).map((x) =>
          `<option value="${x.name}" ${x.name === leaf.tag ? "selected" : ""}>${esc(CB.label(x))}</option>`).join("")}</select>`);
        if (tag.key) {
          const keys = [...new Set(tag.values.map((v) => v.key))];
          parts.push(`<select data-act="key">${keys.concat(keys.includes(leaf.key) ? [] : [leaf.key]).map((k) =>
            `<option ${k === leaf.key ? "selected" : ""}>${esc(k)}</option>`).join("")}</select>`);
        }
        parts.push(`<select data-act="op">${CB.OPS[tag.kind].concat(CB.OPS[tag.kind].includes(leaf.op) ? [] : [leaf.op]).map((o) =>
          `<option ${o === leaf.op ? "selected" : ""}>${esc(o)}</option>`).join("")}</select>`);
        const vals = tag.values.filter((v) => !tag.key || v.key === leaf.key);
        if (leaf.op === "between") {
          parts.push(`<input data-act="lo" type="number" value="${esc(leaf.value[0])}"> – <input data-act="hi" type="number" value="${esc(leaf.value[1])}">`);
        } else if (tag.kind === "category") {
          const chosen = [].concat(leaf.value).map(String);
          const opts = vals.map((v) => String(v.value)).concat(chosen.filter((c) => !vals.some((v) => String(v.value) === c)));
          parts.push(`<select data-act="value" data-testid="leaf-value" ${leaf.op === "in" ? "multiple size=3" : ""}>${opts.map((o) => {
            const v = vals.find((x) => String(x.value) === o);
            return `<option value="${esc(o)}" ${chosen.includes(o) ? "selected" : ""}>${esc(v ? `${CB.valueLabel(v)} (${fmt(v.count)})` : o)}</option>`;
          }).join("")}</select>`);
        } else {
          parts.push(`<input data-act="value" data-testid="leaf-value" value="${esc([].concat(leaf.value).join(", "))}" aria-label="${t("cb.value")}">`);
        }
      }
      parts.push(`<button type="button" data-act="remove" title="${t("cb.remove")}">×</button>`);
      return `<div class="cb-leaf ${m.not ? "neg" : ""}" data-path="${path}" data-testid="leaf">${parts.join("")}</div>`;
    };
    const groupHtml = (m, path) => `<div class="cb-group ${m.not ? "neg" : ""}" data-path="${path}" data-testid="group">
      <div class="cb-bar"><label><input type="checkbox" data-act="not" ${m.not ? "checked" : ""}> ${t("cb.not")}</label>
      <select data-act="gop">${["and", "or", "minus"].map((o) => `<option value="${o}" ${o === m.op ? "selected" : ""}>${t(`cb.${o}`)}</option>`).join("")}</select>
      <button type="button" data-act="add-leaf">${t("cb.addLeaf")}</button>
      <button type="button" data-act="add-group">${t("cb.addGroup")}</button>
      ${path === "" ? `<button type="button" data-act="reset">${t("cb.reset")}</button>` : `<button type="button" data-act="remove">×</button>`}</div>
      ${m.items.map((c, i) => (c.leaf ? leafHtml : groupHtml)(c, path === "" ? `${i}` : `${path}.${i}`)).join("")}</div>`;
    const render = () => { $("#cb-groups").innerHTML = groupHtml(model, ""); };

    const change = async (el, act) => {
      const box = el.closest("[data-path]");
      const path = box.dataset.path;
      const m = at(path);
      const leaf = m.leaf;
      if (act === "not") m.not = el.checked;
      else if (act === "gop") m.op = el.value;
      else if (act === "kind") {
        m.leaf = el.value === "tag" ? defaultLeaf() : el.value === "count"
          ? { count: { event: "purchase", days: 30 }, op: ">=", value: 1 } : { [el.value]: el.value === "crowd" ? "strategy_gen_z" : "" };
      } else if (act === "tag") m.leaf = defaultLeaf(el.value);
      else if (act === "key") leaf.key = el.value;
      else if (act === "op") {
        const was = leaf.op; leaf.op = el.value;
        if (el.value === "between") leaf.value = [CB.num([].concat(leaf.value)[0]) || 0, CB.num([].concat(leaf.value)[0]) || 0];
        else if (el.value === "in") leaf.value = [].concat(was === "between" ? leaf.value[0] : leaf.value);
        else if (Array.isArray(leaf.value)) leaf.value = leaf.value[0];
      } else if (act === "value") {
        if (el.multiple) leaf.value = [...el.selectedOptions].map((o) => CB.num(o.value));
        else if (leaf.op === "in") leaf.value = el.value.split(",").map((s) => CB.num(s.trim().replace(/^["']|["']$/g, ""))).filter((v) => v !== "");
        else leaf.value = tags[leaf.tag]?.kind === "category" ? el.value : CB.num(el.value);
        if (leaf.count) leaf.value = Number(el.value);
      } else if (act === "lo" || act === "hi") leaf.value[act === "lo" ? 0 : 1] = Number(el.value);
      else if (act === "event") leaf.count.event = el.value;
      else if (act === "cbrand") { if (el.value) leaf.count.brand = el.value; else delete leaf.count.brand; }
      else if (act === "days") leaf.count.days = Number(el.value);
      else if (act === "ref") leaf[el.dataset.k] = el.value;
      else return;
      render();
      await fromGroups();
    };
    const click = async (el, act) => {
      const path = el.closest("[data-path]").dataset.path;
      if (act === "add-leaf") at(path).items.push({ leaf: defaultLeaf(), not: false });
      else if (act === "add-group") at(path).items.push({ op: "or", not: false, items: [{ leaf: defaultLeaf(), not: false }] });
      else if (act === "reset") model = { op: "and", not: false, items: [] };
      else if (act === "remove") {
        const parts = path.split(".");
        const i = Number(parts.pop());
        at(parts.join(".")).items.splice(i, 1);
      } else return;
      render();
      await fromGroups();
    };
    $("#cb-groups").addEventListener("change", (e) => { if (e.target.dataset.act) change(e.target, e.target.dataset.act); });
    $("#cb-groups").addEventListener("click", (e) => {
      const act = e.target.dataset.act;
      if (e.target.tagName === "BUTTON" && act) click(e.target, act);
    });
    $("#expr").oninput = () => { clearTimeout(timer); timer = setTimeout(fromText, 300); };
    $("#cb-k").oninput = slider;

    // ---- the catalogue
    const showTags = () => {
      const q = $("#cb-search").value.trim().toLowerCase();
      const hit = Object.values(tags).filter((x) => !q || [x.name, x.zh, x.en, x.description, x.zh_description]
        .some((s) => String(s || "").toLowerCase().includes(q)));
      $("#cb-tags").innerHTML = hit.length ? hit.map((x) => `<div class="cb-tag" data-testid="catalogue-tag">
        <b data-tag="${x.name}">${esc(CB.label(x))}</b> <span class="muted"><code translate="no">${esc(x.name)}</code> · ${t(`cb.kind.${x.kind}`)}${
          x.key ? ` · ${t(`cb.per.${x.key}`)}` : ""}</span><div class="muted">${esc(state.lang === "en" ? x.description : x.zh_description)}</div>
        <div>${x.values.slice(0, x.kind === "number" ? 6 : 10).map((v, i) => `<button type="button" class="cb-chip" data-tag="${x.name}" data-i="${i}">${
          esc(v.key ? `${v.key}: ` : "")}<span translate="no">${esc(CB.valueLabel(v))}</span> · ${fmt(v.count)}</button>`).join("")}</div></div>`).join("")
        : `<p class="muted">${t("cb.noTags")}</p>`;
    };
    $("#cb-search").oninput = showTags;
    $("#cb-tags").addEventListener("click", async (e) => {
      const name = e.target.dataset.tag;
      if (!name) return;
      const tag = tags[name];
      let leaf = defaultLeaf(name);
      if (e.target.dataset.i !== undefined) {
        const v = tag.values[Number(e.target.dataset.i)];
        leaf = { tag: name, key: tag.key ? v.key : null, op: "=", value: v.value };
      }
      model.items.push({ leaf, not: false });
      render();
      await fromGroups();
    });

    // ---- insight, lookalike, save, export
    $("#cb-analyse").onclick = async () => {
      $("#cb-tgi-msg").textContent = t("loading");
      try {
        const body = { expr: expr() };
        if ($("#cb-base").value) body.base = $("#cb-base").value;
        const r = await post("/api/crowds/insight", body);
        const rows = r.profile.filter((x) => x.tgi !== null && x.crowd_share >= 0.05)
          .sort((a, b) => b.tgi - a.tgi).slice(0, 12);
        $("#cb-tgi-msg").textContent = rows.length ? `${fmt(r.size)} · ${t("cb.tgi")}` : t("cb.empty");
        const name = (x) => `${CB.label(tags[x.tag]) || x.tag}${x.key ? `(${x.key})` : ""}: ${
          CB.valueLabel(tags[x.tag]?.values.find((v) => String(v.value) === String(x.value) && (v.key || null) === (x.key || null))
            || { zh: x.value, en: x.value })}`;
        chart($("#cb-tgi"), { tooltip: {}, grid: { left: 150, right: 20, top: 10, bottom: 30 },
          xAxis: { type: "value" }, yAxis: { type: "category", inverse: true, data: rows.map(name),
            axisLabel: { width: 140, overflow: "truncate" } },
          series: [{ type: "bar", data: rows.map((x) => Math.round(x.tgi)), markLine: { data: [{ xAxis: 100 }], symbol: "none" } }] });
        $("#cb-tgi-table").innerHTML = table([[t("cb.tag"), (x) => esc(name(x))], [t("cb.inCrowd"), (x) => pct(x.crowd_share)],
          [t("cb.inBase"), (x) => pct(x.base_share)], [t("cb.tgi"), (x) => fmt(x.tgi)]], rows);
      } catch (e) { $("#cb-tgi-msg").textContent = e.message; }
    };
    $("#cb-expand").onclick = async () => {
      $("#cb-lal-msg").textContent = t("loading");
      try {
        const r = await post("/api/crowds/lookalike", { seed: expr(), k: Number($("#cb-k").value) });
        const h = r.holdout;  // the model against the cart/favourite rule on held-out consumers
        $("#cb-lal-msg").textContent = `${t("cb.lalDone")}: ${fmt(r.seed_size)} → ${fmt(r.size)} (c = ${r.c.toFixed(2)})` +
          (r.method === "rule" ? ` · ${t("cb.lalRule")}` : "") + (h && h.precision !== undefined ?
            ` · ${t("cb.lalHoldout")} ${pct(h.precision)} / ${pct(h.rule_precision)}` : "");
      } catch (e) { $("#cb-lal-msg").textContent = e.message; }
    };
    $("#save-form").onsubmit = async (e) => {
      e.preventDefault();
      try {
        const r = await post("/api/crowds", { name: $("#crowd-name").value, expr: expr() });
        $("#save-msg").innerHTML = `<span translate="no">${esc(r.name)}</span> ${t("cb.saved")}: ${fmt(r.coverage)}`;
        await saved();
      } catch (err) { $("#save-msg").textContent = err.message; }
    };
    $("#cb-export-form").onsubmit = async (e) => {
      e.preventDefault();
      const out = $("#cb-export-msg");
      out.textContent = t("loading");
      try {
        const r = await post("/api/crowds/export", { expr: expr(), id_type: $("#cb-id-type").value,
          hash: $("#cb-hash").value || null, format: $("#cb-format").value });
        out.innerHTML = `<p>${t("cb.auditId")}: <code data-testid="audit-id">${esc(r.export_id)}</code> · ${t("cb.rows")}:
          <b data-testid="export-rows">${fmt(r.rows)}</b> · ${esc(t(`cb.id.${r.id_type}`))} ${esc((r.hash || "").toUpperCase() || t("cb.none"))} ·
          <code>SHA-256 ${esc(r.sha256.slice(0, 12))}…</code></p><button type="button" id="cb-download">${t("cb.download")}</button>`;
        $("#cb-download").onclick = async () => {
          const res = await fetch(r.download, { headers: { Authorization: `Bearer ${localStorage.getItem("aipl.token")}` } });
          const a = document.createElement("a");
          a.href = URL.createObjectURL(await res.blob());
          a.download = `crowd-${r.export_id}.${$("#cb-format").value}`;
          a.click();
        };
      } catch (err) { out.innerHTML = `<p class="error">${esc(err.message)}</p>`; }
    };

    // ---- lists and charts
    const saved = async () => {
      const r = await api("/api/crowds?limit=100");
      const mine = r.items.filter((x) => !String(x.source || "").startsWith("built-in"));
      $("#saved").innerHTML = mine.length ? table([[t("crowds.name"), (x) => `<span translate="no">${esc(x.name)}</span>`],
        [t("cb.size"), (x) => fmt(x.coverage)], [t("crowds.source"), (x) => `<span translate="no">${esc(x.source || "")}</span>`],
        [t("crowds.expr"), (x) => `<code translate="no">${esc(x.expr || "")}</code>`]], mine)
        : `<p class="muted">${t("cb.empty")}</p>`;
      const opts = mine.map((x) => x.name);
      $("#cb-base").innerHTML = `<option value="">${t("cb.everyone")}</option>` + builtins.concat(opts).map((n) =>
        `<option value="${esc(n)}">${esc(builtinNames[n] || n)}</option>`).join("");
    };
    let builtins = [];
    const builtinNames = {};
    const builtin = async () => {
      const r = await api("/api/crowds/builtin");
      builtins = r.items.filter((x) => x.size !== null).map((x) => x.name);
      r.items.forEach((x) => { builtinNames[x.name] = state.lang === "en" ? x.en : x.zh; });
      $("#cb-builtin").innerHTML = table([[t("crowds.name"), (x) => `<span translate="no">${esc(state.lang === "en" ? x.en : x.zh)}</span>`],
        [t("cb.group"), (x) => t(`cb.group.${x.group}`)],
        [t("cb.size"), (x) => (x.size === null ? `<span class="muted" title="${esc(x.withheld)}">${t("cb.withheld")}</span>`
          : `<span data-testid="builtin-size" data-name="${esc(x.name)}">${fmt(x.size)}</span>`)],
        ["", (x) => `<button type="button" data-use="${esc(x.name)}">${t("cb.use")}</button>`]], r.items);
      $("#cb-builtin").onclick = async (e) => {
        const name = e.target.dataset.use;
        const row = r.items.find((x) => x.name === name);
        if (!row) return;
        $("#expr").value = row.expr;
        await fromText();
      };
    };
    const groupName = (g) => (I18N[state.lang][`cb.cat.${g}`] ?? g);
    const cross = async () => {
      const r = await api("/api/crowds/penetration");
      if (!r.items.length) { $("#cb-cross-msg").textContent = t("cb.empty"); $("#cb-cross").hidden = true; return; }
      chart($("#cb-cross"), { tooltip: {}, legend: { top: 0 }, grid: { left: 120, right: 40, top: 30, bottom: 30 },
        xAxis: [{ type: "value", axisLabel: { formatter: (v) => `${v}%` } }],
        yAxis: { type: "category", data: r.items.map((x) => `${groupName(x.a)} → ${groupName(x.b)}`) },
        series: [{ name: t("cb.penetration"), type: "bar", data: r.items.map((x) => +(100 * x.penetration).toFixed(1)) },
          { name: t("cb.tgi"), type: "bar", data: r.items.map((x) => Math.round(x.tgi ?? 0)) }] });
    };
    const spend = async () => {
      const end = state.end || state.lastDay;
      const from = start || new Date(Date.parse(end) - 29 * 864e5).toISOString().slice(0, 10);
      try {
        const r = await api(`/api/crowds/spend?start=${from}&end=${end}&brand=${encodeURIComponent(state.brand)}`);
        const rows = r.items.filter((x) => x.per_capita !== null);
        if (!rows.length) { $("#cb-spend-msg").textContent = t("cb.empty"); $("#cb-spend").hidden = true; return; }
        $("#cb-spend-msg").textContent = `${state.brand} · ${from} → ${end} · ${t("cb.market")} ¥${fmt(rows[0].market_per_capita, 1)}`;
        chart($("#cb-spend"), { tooltip: {}, grid: { left: 110, right: 30, top: 10, bottom: 30 }, xAxis: { type: "value" },
          yAxis: { type: "category", data: rows.map((x) => (state.lang === "en" ? x.en : x.zh)) },
          series: [{ name: t("cb.index"), type: "bar", data: rows.map((x) => Math.round(x.index)),
            markLine: { data: [{ xAxis: 100 }], symbol: "none" } }] });
      } catch (e) { $("#cb-spend-msg").textContent = e.message; $("#cb-spend").hidden = true; }
    };

    const catalogue = await api("/api/crowds/tags?values=true");
    catalogue.items.forEach((x) => { tags[x.name] = x; });
    showTags();
    $("#expr").value = `aipl(brand="${state.brand}") = "I" and age between 18 and 35`;
    await Promise.all([fromText(), builtin().then(saved), cross(), spend()]);
  },
});
