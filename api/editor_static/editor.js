/* /plans/{id}/edit: the draft on the map, selection, drawing tools (Leaflet-Geoman), edits, undo.
 *
 * The server holds the plan: every tool sends one edit to POST plans/{id}/edits and draws the
 * draft the server answers with; a refused edit (400) leaves the drawn draft as it was and
 * shows the server's sentence in the message box. Polygons are rewound to RFC 7946 (exterior
 * rings counter-clockwise, holes clockwise) before they are sent. The preview, commit and
 * history panels are in panels.js; both share window.gridgeoEditor (E).
 */
(function () {
  "use strict";
  var shell = window.gridgeoShell, planners = window.gridgeoPlanners, $ = shell.$, t = shell.t;

  shell.strings({
    zh: { editor_title: "边界编辑", all_plans: "全部规划", selection: "选中网格",
      select_hint: "点击地图上的网格选择（再次点击取消）。", clear_selection: "取消选择",
      tools: "工具", tool_split: "画线拆分", tool_move: "重画相邻边界", tool_merge: "合并",
      tool_edit: "编辑节点", tool_transfer: "划转区域", tool_create: "新建网格",
      tool_retire: "撤销网格", undo: "撤销上一步", name: "名称", rename: "改名", code: "编码",
      recode: "改编码", workers: "网格员", set_workers: "设人数", parent: "上级编码",
      code_optional: "编码（可空）", finish: "完成", cancel: "取消", edits: "编辑记录",
      no_edits: "尚无编辑", households_n: "{n} 户", workers_n: "{n} 人",
      edit_redraw: "重绘网格 {code}（{ha} 公顷）", edit_split: "将网格 {code} 拆分为 {codes}",
      edit_merge: "将 {codes} 合并为 {code}", edit_move: "调整 {code} 与 {other} 的共同边界",
      edit_transfer: "将 {code} 的一部分划入 {other}", edit_create: "新建网格 {code} {name}",
      edit_retire: "撤销网格 {code}", edit_rename: "网格 {code} 由“{old}”更名为“{name}”",
      edit_recode: "网格 {old} 改编码为 {code}", edit_workers: "网格 {code} 的网格员设为 {workers} 人",
      edit_proposal: "{code} 的 {n} 个网格方案（来源：{source}）", edit_neighbours: "；相邻网格 {codes} 随之调整",
      edit_move_units: "将{name}（{building}）{codes}单元划入网格 {code}：{n} 户",
      hint_split: "在所选网格上画一条穿过它的线：逐点单击，单击最后一点（或按“完成”）结束。",
      hint_move: "画出两个相邻网格的新共同边界：从一端画到另一端，单击最后一点结束。",
      hint_transfer: "画一个多边形：第一个选中网格在其中的部分划给第二个。单击起点闭合。",
      hint_create: "画出新网格的范围，单击起点闭合；然后填写名称并按“完成”。",
      hint_create_form: "填写名称与上级编码，按“完成”创建。",
      hint_edit: "拖动节点修改边界（相邻网格让出重叠部分），按“完成”保存。",
      applied: "已应用：", undone: "已撤销上一步", locked: "网格 {code} 不在本规划可编辑范围内",
      retired_grid: "网格 {code} 已在本规划中撤销", need_name: "请填写名称",
      state_unchanged: "未变", state_changed: "已改", state_created: "新建", state_retired: "撤销",
      state_live: "现状", status_open: "进行中", status_committed: "已提交",
      status_discarded: "已放弃", read_only: "此规划已{status}，只读。", level: "编辑层级",
      field: { plan_id: "规划编号", line: "所画的线", geometry: "所画的范围", codes: "网格" } },
    en: { editor_title: "Boundary editor", all_plans: "All plans", selection: "Selected grids",
      select_hint: "Click grids on the map to select them (click again to deselect).",
      clear_selection: "Clear selection", tools: "Tools", tool_split: "Split by a line",
      tool_move: "Redraw shared boundary", tool_merge: "Merge", tool_edit: "Edit vertices",
      tool_transfer: "Transfer an area", tool_create: "New grid", tool_retire: "Retire grid",
      undo: "Undo last edit", name: "Name", rename: "Rename", code: "Code", recode: "Recode",
      workers: "Workers", set_workers: "Set workers", parent: "Parent code",
      code_optional: "Code (optional)", finish: "Finish", cancel: "Cancel", edits: "Edits",
      no_edits: "No edits yet", households_n: "{n} households", workers_n: "{n} workers",
      edit_redraw: "redrew grid {code} ({ha} ha)", edit_split: "split grid {code} into {codes}",
      edit_merge: "merged {codes} into {code}", edit_move: "moved the boundary between {code} and {other}",
      edit_transfer: "moved part of {code} to {other}", edit_create: "created grid {code} {name}",
      edit_retire: "retired grid {code}", edit_rename: "renamed grid {code} from {old} to {name}",
      edit_recode: "recoded grid {old} as {code}", edit_workers: "set the workers of grid {code} to {workers}",
      edit_proposal: "proposal of {n} grids for {code} ({source})", edit_neighbours: "; neighbours {codes} adjusted",
      edit_move_units: "moved units {codes} of {name} ({building}) to grid {code}: {n} households",
      hint_split: "Draw a line across the selected grid: click each point, click the last " +
        "point again (or press Finish) to end.",
      hint_move: "Draw the new shared boundary of the two neighbours from one end to the " +
        "other; click the last point again to end.",
      hint_transfer: "Draw a polygon: the part of the first selected grid inside it goes to " +
        "the second. Click the first point to close it.",
      hint_create: "Draw the new grid; click the first point to close it, then name it and " +
        "press Finish.",
      hint_create_form: "Fill in the name and parent code, then press Finish.",
      hint_edit: "Drag vertices to change the boundary (neighbours yield the overlap); press " +
        "Finish to save.",
      applied: "Applied: ", undone: "Undid the last edit", locked: "Grid {code} is not editable in this plan",
      retired_grid: "Grid {code} is retired in this plan", need_name: "Enter a name",
      state_unchanged: "unchanged", state_changed: "changed", state_created: "created",
      state_retired: "retired", state_live: "live", status_open: "open",
      status_committed: "committed", status_discarded: "discarded",
      read_only: "This plan is {status}: read only.", level: "Level to edit",
      field: { plan_id: "plan number", line: "drawn line", geometry: "drawn shape", codes: "grids" } }
  });

  var STYLES = {
    unchanged: { color: "#2171b5", fillColor: "#c6dbef", fillOpacity: 0.45, weight: 1.5 },
    live: { color: "#2171b5", fillColor: "#c6dbef", fillOpacity: 0.45, weight: 1.5 },
    changed: { color: "#e6550d", fillColor: "#fdae6b", fillOpacity: 0.55, weight: 2 },
    created: { color: "#238b45", fillColor: "#a1d99b", fillOpacity: 0.55, weight: 2 },
    retired: { color: "#cb181d", fillColor: "#fcbba1", fillOpacity: 0.15, weight: 1.5,
      dashArray: "6 4" },
    locked: { color: "#969696", fillColor: "#eeeeee", fillOpacity: 0.3, weight: 1,
      dashArray: "3 3" }
  };
  var PEN = { color: "#6a00ff", weight: 3 };
  var LINE_TOOLS = { split: "Line", move: "Line", transfer: "Polygon", create: "Polygon" };

  var E = window.gridgeoEditor = {
    planId: "", plan: null, draft: null, edits: [], selected: [], layers: {}, features: {},
    mode: null, pending: null, readOnly: false, changed: [], impact: {}, map: null,
    draftLayer: null, contextLayer: null, level: null, levelSpecs: {}
  };

  E.planPath = function (suffix) { return "plans/" + encodeURIComponent(E.planId) + (suffix || ""); };

  /* ---- RFC 7946 winding ---- */
  function ringArea(ring) {
    var s = 0;
    for (var i = 0; i < ring.length - 1; i++) {
      s += (ring[i + 1][0] - ring[i][0]) * (ring[i + 1][1] + ring[i][1]);
    }
    return -s / 2;  // > 0: counter-clockwise
  }
  function orient(ring, ccw) {
    var a = ringArea(ring);
    return a !== 0 && (a > 0) !== ccw ? ring.slice().reverse() : ring;
  }
  function rewindPolygon(rings) { return rings.map(function (r, i) { return orient(r, i === 0); }); }
  E.rewind = function (g) {
    if (g.type === "Polygon") g.coordinates = rewindPolygon(g.coordinates);
    if (g.type === "MultiPolygon") g.coordinates = g.coordinates.map(rewindPolygon);
    return g;
  };

  /* ---- the draft on the map ---- */
  function kindOf(p) {
    if (p.state === "live" || p.state === "retired") return p.state;
    if (p.editable === false) return "locked";
    return STYLES[p.state] ? p.state : "unchanged";
  }
  function styleOf(f) {
    var p = f.properties, kind = kindOf(p);
    var s = Object.assign({}, STYLES[kind], { className: "grid grid-" + kind });
    if (E.selected.indexOf(p.code) >= 0) { s.color = PEN.color; s.weight = 4; }
    return s;
  }
  function labelOf(p) {
    var html = "<b>" + shell.esc(p.name) + "</b><br><span class=\"code\">" + shell.esc(p.code) + "</span>";
    var hit = E.impact[p.code];
    if (hit && p.state !== "retired") {
      var was = hit.households_before === null ? "—" : hit.households_before;
      html += "<br><span class=\"hh\">" + shell.esc(was) + "→" + shell.esc(hit.households_after) +
        "</span>";
    }
    return html;
  }
  E.relabel = function () {
    Object.keys(E.layers).forEach(function (code) {
      E.layers[code].setTooltipContent(labelOf(E.features[code].properties));
    });
  };

  /* Levels present in the draft, top first; one of them (the deepest by default) is edited,
   * the others are drawn as outlines underneath that take no clicks. */
  function levelsOf(fc) {
    var depth = {};
    (fc.features || []).forEach(function (f) {
      var p = f.properties, d = String(p.code).length;
      if (depth[p.level] === undefined || d < depth[p.level]) depth[p.level] = d;
    });
    return Object.keys(depth).sort(function (a, b) { return depth[a] - depth[b]; });
  }
  function levelName(key) {
    var spec = E.levelSpecs[key];
    return spec ? (shell.lang === "en" ? spec.label_en : spec.label_zh) : key;
  }
  function renderLevels(levels) {
    $("level-row").hidden = levels.length < 2;
    $("level").innerHTML = levels.map(function (l) {
      return "<option value=\"" + shell.esc(l) + "\">" + shell.esc(levelName(l)) + "</option>";
    }).join("");
    $("level").value = E.level;
  }

  E.drawDraft = function (fc) {
    if (E.draftLayer) E.map.removeLayer(E.draftLayer);
    if (E.contextLayer) E.map.removeLayer(E.contextLayer);
    E.draft = fc;
    E.layers = {};
    E.features = {};
    var levels = levelsOf(fc);
    if (levels.indexOf(E.level) < 0) E.level = levels[levels.length - 1];
    renderLevels(levels);
    var all = fc.features || [];
    var features = all.filter(function (f) { return f.properties.level === E.level; });
    features.sort(function (a, b) {  // retired underneath
      return (a.properties.state === "retired" ? 0 : 1) - (b.properties.state === "retired" ? 0 : 1);
    });
    E.selected = E.selected.filter(function (c) {
      return features.some(function (f) { return f.properties.code === c && f.properties.state !== "retired"; });
    });
    E.contextLayer = L.geoJSON({ type: "FeatureCollection", features: all.filter(function (f) {
      return f.properties.level !== E.level && f.properties.state !== "retired";
    }) }, { interactive: false, style: { color: "#08306b", weight: 3, fill: false,
      className: "grid-context" } }).addTo(E.map);
    E.draftLayer = L.geoJSON({ type: "FeatureCollection", features: features }, {
      style: styleOf,
      onEachFeature: function (f, layer) {
        var p = f.properties;
        E.layers[p.code] = layer;
        E.features[p.code] = f;
        layer.bindTooltip(labelOf(p), { permanent: true, direction: "center", interactive: false,
          className: "grid-label label-" + kindOf(p) });
        layer.on("click", function () { toggle(p.code); });
      }
    }).addTo(E.map);
    renderSelection();
  };

  E.center = function (code) {
    var layer = E.layers[code];
    return layer ? layer.getBounds().getCenter() : null;
  };

  /* ---- selection ---- */
  function toggle(code) {
    if (E.mode || E.readOnly) return;
    var p = E.features[code].properties;
    if (p.editable === false) { shell.say({ key: "locked", vars: { code: code } }, "info"); return; }
    if (p.state === "retired") { shell.say({ key: "retired_grid", vars: { code: code } }, "info"); return; }
    var at = E.selected.indexOf(code);
    if (at >= 0) E.selected.splice(at, 1); else E.selected.push(code);
    Object.keys(E.layers).forEach(function (c) { E.layers[c].setStyle(styleOf(E.features[c])); });
    renderSelection();
  }
  function renderSelection() {
    $("selection").innerHTML = E.selected.map(function (code) {
      var p = E.features[code].properties;
      return "<li data-code=\"" + shell.esc(code) + "\"><b>" + shell.esc(p.name) + "</b> " + shell.esc(code) +
        " · " + shell.esc(t("households_n", { n: p.households })) + " · " +
        shell.esc(t("workers_n", { n: p.workers })) + " · " + shell.esc(t("state_" + p.state)) + "</li>";
    }).join("");
    var first = E.selected.length ? E.features[E.selected[0]].properties : null;
    $("attr-name").value = first ? first.name : "";
    $("attr-code").value = first ? first.code : "";
    $("attr-workers").value = first ? first.workers : "";
    E.updateButtons();
  }
  E.updateButtons = function () {
    var n = E.selected.length;
    Array.prototype.forEach.call(document.querySelectorAll("#tools [data-need]"), function (b) {
      var need = b.dataset.need;
      var fits = need === "0" || (need === "2+" ? n >= 2 : n === Number(need));
      if (b.id === "undo") fits = E.edits.length > 0;
      b.disabled = E.readOnly || !!E.mode || !fits;
    });
    ["commit", "discard", "preview"].forEach(function (id) { $(id).disabled = E.readOnly || !!E.mode; });
  };

  /* ---- edits ---- */
  /* An edit said in the page's language from its parts (boundaries/plans/summaries.py); the
   * stored English summary when it has none. */
  function summaryText(e) {
    var p = e.summary_parts;
    if (!p || !p.kind) return e.summary || "";
    var list = function (codes) { return (codes || []).join(t("shell.comma")); };
    var s = t("edit_" + p.kind, { code: p.code, other: p.other, codes: list(p.codes), ha: p.ha,
      name: p.name, old: p.old, workers: p.workers, n: p.n, source: p.source,
      building: p.building });
    if (p.neighbours && p.neighbours.length) s += t("edit_neighbours", { codes: list(p.neighbours) });
    return s;
  }
  function renderEdits() {
    $("edits").innerHTML = E.edits.length ? E.edits.map(function (e) {
      return "<li data-seq=\"" + shell.esc(e.seq) + "\" data-op=\"" + shell.esc(e.op) + "\">" +
        shell.esc(summaryText(e)) + (e.by ? " <span class=\"muted\">" + shell.esc(e.by) + "</span>" : "") + "</li>";
    }).join("") : "<li class=\"muted\">" + shell.esc(t("no_edits")) + "</li>";
    E.updateButtons();
  }
  function remember(codes) {
    (codes || []).forEach(function (c) { if (E.changed.indexOf(c) < 0) E.changed.push(c); });
  }
  function applied(res, undo) {
    if (undo) E.edits.pop(); else E.edits.push(res.body.edit);
    remember(res.body.changed);
    E.selected = [];
    if (E.clearPreview) E.clearPreview();
    E.drawDraft(res.body.draft);
    renderEdits();
    var summary = res.body.edit ? res.body.edit.summary : "";
    shell.say(undo ? summary || t("undone") : t("applied") + summary, "ok");
  }
  E.refused = function (res) {
    shell.say(shell.errorOf(res), "error");
    if (E.markProblem && Array.isArray(res.body.location)) E.markProblem(res.body.location, shell.describe(res.status, res.body));
  };
  function send(edit) {
    shell.hush();
    return shell.request(E.planPath("/edits"), { method: "POST", body: edit }).then(function (res) {
      if (res.ok) { applied(res, false); return; }
      E.drawDraft(E.draft);  // the plan keeps its last valid state; so does the map
      E.refused(res);
    }).catch(shell.fail);
  }
  function undo() {
    shell.hush();
    shell.request(E.planPath("/edits/last"), { method: "DELETE" }).then(function (res) {
      if (res.ok) applied(res, true); else E.refused(res);
    }).catch(shell.fail);
  }
  function geometryOf(layer) { return E.rewind(layer.toGeoJSON(false).geometry); }

  /* ---- drawing ---- */
  function startDrawing(kind) {
    shell.hush();
    E.mode = kind;
    $("drawing").hidden = false;
    $("create-form").hidden = true;
    $("drawing-hint").textContent = t("hint_" + kind);
    E.updateButtons();
    if (kind === "edit") {
      E.layers[E.selected[0]].pm.enable({ allowSelfIntersection: false, snappable: true,
        snapDistance: 12 });
      return;
    }
    E.map.pm.enableDraw(LINE_TOOLS[kind], { snappable: true, snapDistance: 12,
      allowSelfIntersection: false, templineStyle: PEN, hintlineStyle: Object.assign({ dashArray: "5 5" }, PEN),
      pathOptions: Object.assign({ className: "drawn" }, PEN) });
  }
  function stopDrawing() {
    E.map.pm.disableDraw();
    if (E.pending) { E.map.removeLayer(E.pending); E.pending = null; }
    if (E.mode === "edit" && E.layers[E.selected[0]]) E.layers[E.selected[0]].pm.disable();
    E.mode = null;
    $("drawing").hidden = true;
    E.updateButtons();
  }
  function drawn(e) {
    var kind = E.mode, geometry = E.rewind(e.layer.toGeoJSON(false).geometry);
    var sel = E.selected.slice();
    if (kind === "create") {
      E.pending = e.layer;
      $("create-form").hidden = false;
      $("drawing-hint").textContent = t("hint_create_form");
      $("create-parent").value = parentGuess();
      $("create-name").focus();
      return;
    }
    E.map.removeLayer(e.layer);
    stopDrawing();
    if (kind === "split") send({ op: "split", code: sel[0], line: geometry });
    if (kind === "move") send({ op: "move_boundary", codes: sel, line: geometry });
    if (kind === "transfer") send({ op: "transfer", from: sel[0], to: sel[1], geometry: geometry });
  }
  function parentGuess() {
    if (E.selected.length) return E.features[E.selected[0]].properties.parent_code || "";
    var counts = {};
    (E.draft.features || []).forEach(function (f) {
      var c = f.properties.parent_code;
      if (c && f.properties.level === E.level) counts[c] = (counts[c] || 0) + 1;
    });
    var best = Object.keys(counts).sort(function (a, b) { return counts[b] - counts[a]; })[0];
    return best || (E.plan ? E.plan.area_code : "");
  }
  function finish() {
    var kind = E.mode;
    if (kind === "edit") {
      var code = E.selected[0], geometry = geometryOf(E.layers[code]);
      stopDrawing();
      send({ op: "replace", code: code, geometry: geometry, neighbours: "yield" });
    } else if (kind === "create" && E.pending) {
      var name = $("create-name").value.trim();
      if (!name) { shell.say({ key: "need_name" }, "error"); return; }
      var edit = { op: "create", name: name, parent_code: $("create-parent").value.trim(),
        geometry: geometryOf(E.pending), workers: Number($("create-workers").value || 0),
        neighbours: "yield" };
      if ($("create-code").value.trim()) edit.code = $("create-code").value.trim();
      stopDrawing();
      send(edit);
    } else if (kind && E.map.pm.Draw[LINE_TOOLS[kind]]) {
      E.map.pm.Draw[LINE_TOOLS[kind]]._finishShape();  // Geoman ends the shape as on a last click
    }
  }

  /* ---- plan ---- */
  E.setReadOnly = function (why) {
    E.readOnly = true;
    if (E.mode) stopDrawing();
    E.selected = [];
    if (why) $("plan-status").title = why;
    E.updateButtons();
  };
  function showPlan() {
    var p = E.plan;
    $("plan-title").textContent = (p.title || "") + " · " + (p.area_code || "");
    $("plan-status").textContent = t("status_" + p.status);
    $("plan-status").dataset.status = p.status;
    $("back").href = "plans/editor?area=" + encodeURIComponent(p.area_code || "");
  }
  function loadPlan() {
    return shell.request("levels").then(function (res) {
      if (res.ok) res.body.forEach(function (spec) { E.levelSpecs[spec.key] = spec; });
      return shell.request(E.planPath());
    }).then(function (res) {
      if (!res.ok) { shell.say(shell.errorOf(res), "error"); return; }
      E.plan = res.body.plan;
      E.edits = res.body.edits || [];
      showPlan();
      E.drawDraft(res.body.draft);
      renderEdits();
      var bounds = E.draftLayer.getBounds();
      if (bounds.isValid()) E.map.fitBounds(bounds, { padding: [20, 20], animate: false });
      if (E.plan.status !== "open") {
        E.setReadOnly();
        shell.say({ key: "read_only", vars: { status: t("status_" + E.plan.status) } }, "info");
      }
      window.gridgeoReady = true;
    }).catch(shell.fail);
  }

  function initMap() {
    E.map = L.map("map", { attributionControl: !!planners.config.tiles, zoomControl: true,
      doubleClickZoom: false });
    E.map.setView([36.7, 119.15], 13);
    if (planners.config.tiles) {
      L.tileLayer(planners.config.tiles, { maxZoom: 19,
        attribution: "&copy; OpenStreetMap contributors" }).addTo(E.map);
    }
    L.control.scale({ imperial: false }).addTo(E.map);
    E.map.pm.setLang(shell.lang === "en" ? "en" : "zh");
    E.map.pm.setGlobalOptions({ snappable: true, snapDistance: 12 });
    E.map.on("pm:create", drawn);
    // the message box and narrow screens resize the map: Leaflet must know its new size
    if (window.ResizeObserver) {
      new ResizeObserver(function () { E.map.invalidateSize({ pan: false }); }).observe($("map"));
    }
  }

  function bind() {
    $("clear-selection").addEventListener("click", function () {
      E.selected = []; E.drawDraft(E.draft);
    });
    $("tool-split").addEventListener("click", function () { startDrawing("split"); });
    $("tool-move").addEventListener("click", function () { startDrawing("move"); });
    $("tool-transfer").addEventListener("click", function () { startDrawing("transfer"); });
    $("tool-create").addEventListener("click", function () { startDrawing("create"); });
    $("tool-edit").addEventListener("click", function () { startDrawing("edit"); });
    $("tool-merge").addEventListener("click", function () {
      send({ op: "merge", codes: E.selected.slice(), keep: E.selected[0] });
    });
    $("tool-retire").addEventListener("click", function () { send({ op: "retire", code: E.selected[0] }); });
    $("tool-rename").addEventListener("click", function () {
      send({ op: "rename", code: E.selected[0], name: $("attr-name").value.trim() });
    });
    $("tool-recode").addEventListener("click", function () {
      send({ op: "recode", code: E.selected[0], new_code: $("attr-code").value.trim() });
    });
    $("tool-workers").addEventListener("click", function () {
      send({ op: "workers", code: E.selected[0], workers: Number($("attr-workers").value) });
    });
    $("attr-form").addEventListener("submit", function (ev) { ev.preventDefault(); });
    $("create-form").addEventListener("submit", function (ev) { ev.preventDefault(); finish(); });
    $("undo").addEventListener("click", undo);
    $("level").addEventListener("change", function () {
      E.level = $("level").value;
      E.selected = [];
      E.drawDraft(E.draft);
    });
    $("drawing-finish").addEventListener("click", finish);
    $("drawing-cancel").addEventListener("click", function () {
      var editing = E.mode === "edit";
      stopDrawing();
      if (editing) E.drawDraft(E.draft);
    });
    document.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" && E.mode) $("drawing-cancel").click();
    });
    shell.onLang(function () {
      if (E.map) E.map.pm.setLang(shell.lang === "en" ? "en" : "zh");
      if (E.plan) showPlan();
      if (E.draft) { renderLevels(levelsOf(E.draft)); renderSelection(); renderEdits(); }
      if (E.mode) $("drawing-hint").textContent = t(E.pending ? "hint_create_form" : "hint_" + E.mode);
    });
  }

  E.planId = planners.config.plan;
  bind();
  E.start = function () {
    planners.start(function () {
      if (!E.map) initMap();
      loadPlan();
    });
  };
  // panels.js (loaded next) calls E.start() once its handlers are bound.
})();
