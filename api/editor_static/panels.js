/* The editor's side panels: preview (topology problems, impact drawn on the map), commit with
 * its required message, the grids' history and revert. Shares window.gridgeoEditor with
 * editor.js.
 */
(function () {
  "use strict";
  var shell = window.gridgeoShell, $ = shell.$, t = shell.t, E = window.gridgeoEditor;

  shell.strings({
    zh: { preview: "预览", run_preview: "检查并预览影响", problems: "拓扑问题", impact: "影响",
      col_grid: "网格", col_state: "状态", col_households: "户数", col_workers: "网格员",
      col_load: "户/人", moves: "住户调整", preview_ok: "无拓扑问题，可以提交。",
      preview_bad: "有 {n} 个问题须先解决。", moved: "调整住户 {n} 户", no_problems: "无",
      no_moves: "无住户调整", move: "{from} → {to}：{n} 户（{p} 个点）", no_grid: "无网格", incident: "事件 #{id}：{from} → {to}",
      area_m2: "{a} 平方米", error: "错误", warning: "警告",
      commit: "提交", commit_message: "提交说明（必填）", commit_btn: "提交规划",
      discard: "放弃规划", discard_confirm: "再按一次确认放弃", discarded: "规划已放弃",
      need_message: "请填写提交说明：为什么修改边界", committed:
        "已提交：变更 #{id}；{n} 户改划网格，{m} 个事件转派。", history_of: "{code} 的历史版本",
      revert_message: "撤销说明", revert: "撤销此次提交", revert_default: "撤销变更 #{id}",
      reverted: "已撤销：新变更 #{id} 恢复了原有边界。", history: "历史版本",
      col_version: "版本", col_from: "生效", col_to: "失效", col_change: "变更",
      status_over: "超负荷", status_within: "达标", status_under: "低负荷",
      status_unstaffed: "无人员", status_empty: "无住户", stale: "规划已修改，请重新预览。",
      kinds: { plan: "规划", revert: "撤销", import: "导入", edit: "编辑", balance: "均衡" } },
    en: { preview: "Preview", run_preview: "Check and preview impact", problems: "Topology problems",
      impact: "Impact", col_grid: "Grid", col_state: "State", col_households: "Households",
      col_workers: "Workers", col_load: "Load", moves: "Household moves",
      preview_ok: "No topology problems: ready to commit.",
      preview_bad: "{n} problems must be fixed first.", moved: "{n} households change grid",
      no_problems: "none", no_moves: "no household moves", move: "{from} → {to}: {n} households ({p} points)",
      no_grid: "no grid",
      incident: "incident #{id}: {from} → {to}", area_m2: "{a} m²", error: "error",
      warning: "warning", commit: "Commit", commit_message: "Why (required)",
      commit_btn: "Commit plan", discard: "Discard plan", discard_confirm: "Press again to discard",
      discarded: "The plan was discarded",
      need_message: "Enter a commit message: why the boundaries change",
      committed: "Committed: change #{id}; {n} households changed grid, {m} incidents " +
        "moved.",
      history_of: "History of {code}", revert_message: "Why revert",
      revert: "Revert this commit", revert_default: "Revert change #{id}",
      reverted: "Reverted: change #{id} restored the earlier boundaries.", history: "History",
      col_version: "Version", col_from: "Valid from", col_to: "Valid to", col_change: "Change",
      status_over: "over", status_within: "within", status_under: "under",
      status_unstaffed: "unstaffed", status_empty: "empty",
      stale: "The plan changed: preview again.",
      kinds: { plan: "plan", revert: "revert", import: "import", edit: "edit", balance: "balance" } }
  });

  // the 300-households-per-worker standard's colours, as on /maps/grids
  var STATUS_COLOURS = { over: "#d73027", within: "#ffffbf", under: "#4575b4",
    unstaffed: "#969696", empty: "#ffffff" };

  var overlay = null, lastPreview = null, committed = null, discardArmed = false;

  function layerGroup() {
    if (!overlay) overlay = L.featureGroup().addTo(E.map);
    return overlay;
  }
  function fmt(x, digits) {
    if (x === null || x === undefined) return "—";
    return typeof x === "number" && digits !== undefined ? x.toFixed(digits) : String(x);
  }
  function statusCell(status, load) {
    var colour = STATUS_COLOURS[status] || "#cccccc";
    var dark = status === "over" || status === "under";
    return "<span class=\"status\" data-status=\"" + shell.esc(status) + "\" style=\"background:" +
      colour + (dark ? ";color:#fff" : "") + "\">" + shell.esc(fmt(load, 1)) + " " +
      shell.esc(status ? t("status_" + status) : "") + "</span>";
  }

  /* ---- problems ---- */
  E.markProblem = function (location, text) {
    var latlng = [location[1], location[0]];
    var marker = L.circleMarker(latlng, { radius: 10, color: "#b30000", weight: 3,
      fillColor: "#ff3b30", fillOpacity: 0.5, className: "problem-marker" })
      .bindTooltip(shell.esc(text), { direction: "top" }).addTo(layerGroup());
    E.map.setView(latlng, Math.max(E.map.getZoom(), 17), { animate: false });
    marker.openTooltip();
    return marker;
  };
  function renderProblems(problems) {
    $("problems").innerHTML = problems.length ? problems.map(function (p, i) {
      var area = p.area_m2 ? " (" + t("area_m2", { a: fmt(p.area_m2, 1) }) + ")" : "";
      return "<li class=\"problem\" data-index=\"" + i + "\" data-kind=\"" + shell.esc(p.kind) +
        "\" data-severity=\"" + shell.esc(p.severity) + "\"" + (p.location ? " tabindex=\"0\"" : "") +
        "><b>" + shell.esc(t(p.severity) || p.severity) + "</b> " + shell.esc(p.kind) + " " +
        shell.esc(p.code || "") + "：" + shell.esc(p.message) + shell.esc(area) + "</li>";
    }).join("") : "<li class=\"muted\">" + shell.esc(t("no_problems")) + "</li>";
    Array.prototype.forEach.call($("problems").querySelectorAll("li.problem"), function (li) {
      li.addEventListener("click", function () {
        var p = problems[Number(li.dataset.index)];
        if (p.location) E.markProblem(p.location, p.message);
      });
    });
  }

  /* ---- impact ---- */
  function moveText(m) {
    return t("move", { from: m.from || t("no_grid"), to: m.to || t("no_grid"), n: m.households,
      p: m.points === undefined ? "?" : m.points });
  }
  function renderImpact(body) {
    var impact = body.impact || {}, grids = impact.grids || [], moves = impact.moves || [];
    E.impact = {};
    grids.forEach(function (g) { E.impact[g.code] = g; });
    $("impact").querySelector("tbody").innerHTML = grids.map(function (g) {
      return "<tr data-code=\"" + shell.esc(g.code) + "\"><td>" + shell.esc(g.name) + "<br><span class=\"code\">" +
        shell.esc(g.code) + "</span></td><td>" + shell.esc(t("state_" + g.state)) + "</td><td>" +
        shell.esc(fmt(g.households_before)) + " → " + shell.esc(fmt(g.households_after)) + "</td><td>" +
        shell.esc(fmt(g.workers_before)) + " → " + shell.esc(fmt(g.workers_after)) + "</td><td>" +
        statusCell(g.status_before, g.load_before) + " → " + statusCell(g.status_after, g.load_after) +
        "</td></tr>";
    }).join("");
    $("moves").innerHTML = moves.length ? moves.map(function (m) {
      return "<li class=\"move\" data-from=\"" + shell.esc(m.from) + "\" data-to=\"" + shell.esc(m.to) +
        "\">" + shell.esc(moveText(m)) + "</li>";
    }).join("") : "<li class=\"muted\">" + shell.esc(t("no_moves")) + "</li>";
    $("incidents").innerHTML = (impact.incidents || []).map(function (i) {
      return "<li class=\"incident\">" + shell.esc(t("incident", i)) + "</li>";
    }).join("");
    var n = (body.problems || []).length;
    $("preview-summary").textContent = (body.ok ? t("preview_ok") : t("preview_bad", { n: n })) +
      " " + t("moved", { n: fmt(impact.households_moved) });
    $("preview-summary").dataset.ok = String(!!body.ok);
    $("preview-summary").dataset.moved = String(impact.households_moved || 0);
    E.relabel();
  }
  function drawImpact(body) {
    var group = layerGroup();
    group.clearLayers();
    if (body.changed_area) {
      L.geoJSON(body.changed_area, { interactive: false, style: { color: "#7b3294", weight: 3,
        dashArray: "8 6", fill: false, className: "impact-area" } }).addTo(group);
    }
    ((body.impact || {}).moves || []).forEach(function (m) {
      // points inside the old and the new grid (from the preview), not bounding-box centres
      var a = m.from_point ? L.latLng(m.from_point[1], m.from_point[0]) : null;
      var b = m.to_point ? L.latLng(m.to_point[1], m.to_point[0]) : null;
      if (!a || !b) return;
      L.polyline([a, b], { color: "#7b3294", weight: Math.min(8, 2 + m.households / 100),
        opacity: 0.8, className: "impact-move" })
        .bindTooltip(shell.esc(moveText(m))).addTo(group);
      L.circleMarker(b, { radius: 5, color: "#7b3294", fillOpacity: 1, interactive: false })
        .addTo(group);
    });
  }
  function forgetPreview() {
    if (overlay) overlay.clearLayers();
    E.impact = {};
    lastPreview = null;
    ["problems", "moves", "incidents"].forEach(function (id) { $(id).innerHTML = ""; });
    $("impact").querySelector("tbody").innerHTML = "";
    $("preview-summary").textContent = "";
    $("preview-summary").dataset.ok = "";
    E.relabel();
  }
  E.clearPreview = function () {
    if (overlay) overlay.clearLayers();
    E.impact = {};
    if (lastPreview) $("preview-summary").textContent = t("stale");
    lastPreview = null;
    $("preview-summary").dataset.ok = "";
    $("problems").innerHTML = "";
    $("moves").innerHTML = "";
    $("incidents").innerHTML = "";
    $("impact").querySelector("tbody").innerHTML = "";
  };
  function preview() {
    shell.hush();
    shell.request(E.planPath("/preview")).then(function (res) {
      if (!res.ok) { E.refused(res); return; }
      lastPreview = res.body;
      renderProblems(res.body.problems || []);
      renderImpact(res.body);
      drawImpact(res.body);
    }).catch(shell.fail);
  }

  /* ---- commit, history, revert ---- */
  function historyCodes() {
    var codes = E.changed.slice();
    Object.keys(E.impact).forEach(function (c) { if (codes.indexOf(c) < 0) codes.push(c); });
    return codes;
  }
  function showLive() {
    var bounds = E.draftLayer ? E.draftLayer.getBounds() : null;
    if (!bounds || !bounds.isValid()) return Promise.resolve();
    var level = E.level || "grid";
    var box = [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()]
      .map(function (x) { return x.toFixed(6); }).join(",");
    return shell.request("grids?level=" + encodeURIComponent(level) + "&bbox=" + box).then(function (res) {
      if (!res.ok) { E.refused(res); return; }
      res.body.features.forEach(function (f) { f.properties.state = "live"; });
      E.drawDraft(res.body);
    });
  }
  function renderResult() {
    $("result").hidden = false;
    $("result-text").textContent = t("committed", { id: committed.change_id,
      n: fmt(committed.households_moved), m: fmt(committed.incidents_moved) });
    $("result-text").dataset.change = String(committed.change_id);
    $("history-links").innerHTML = committed.codes.map(function (code) {
      return "<li><a class=\"history-link\" data-code=\"" + shell.esc(code) + "\" href=\"grids/" +
        encodeURIComponent(code) + "/history\">" + shell.esc(t("history_of", { code: code })) + "</a></li>";
    }).join("");
    Array.prototype.forEach.call($("history-links").querySelectorAll("a"), function (a) {
      a.addEventListener("click", function (ev) { ev.preventDefault(); loadHistory(a.dataset.code); });
    });
    if (!$("revert-message").value) $("revert-message").value = t("revert_default", { id: committed.change_id });
  }
  function commit(ev) {
    ev.preventDefault();
    shell.hush();
    var message = $("commit-message").value.trim();
    if (!message) { shell.say({ key: "need_message" }, "error"); $("commit-message").focus(); return; }
    var codes = historyCodes();
    shell.request(E.planPath("/commit"), { method: "POST", body: { message: message } }).then(function (res) {
      if (!res.ok) {
        var found = (res.body.problems || []).filter(function (p) { return p && p.kind; });
        if (found.length) renderProblems(found);
        E.refused(res);
        return;
      }
      committed = Object.assign({ codes: codes }, res.body);
      if (res.body.plan) E.plan = res.body.plan;
      $("plan-status").textContent = t("status_committed");
      $("plan-status").dataset.status = "committed";
      E.setReadOnly();
      renderResult();
      shell.say($("result-text").textContent, "ok");
      return showLive();
    }).catch(shell.fail);
  }
  function loadHistory(code) {
    shell.request("grids/" + encodeURIComponent(code) + "/history").then(function (res) {
      if (!res.ok) { E.refused(res); return; }
      $("history-panel").hidden = false;
      $("history-code").textContent = code;
      $("history-raw").href = "grids/" + encodeURIComponent(code) + "/history";
      $("history").querySelector("tbody").innerHTML = (res.body.features || []).map(function (f) {
        var p = f.properties;
        return "<tr class=\"version\" data-current=\"" + String(!p.valid_to) + "\" data-change=\"" +
          shell.esc(p.change_id || "") + "\"><td>" + shell.esc(p.version) + "</td><td>" +
          shell.esc(shell.time(p.valid_from, { seconds: true })) + "</td><td>" +
          shell.esc(shell.time(p.valid_to, { seconds: true })) + "</td><td>" +
          shell.esc(p.change_id ? "#" + p.change_id : "—") + " " + shell.esc(p.kind ? shell.label("kinds", p.kind) : "") + " " + shell.esc(p.changed_by || "") +
          "<br>" + shell.esc(p.message || "") + "</td></tr>";
      }).join("");
      $("history-panel").scrollIntoView();
    }).catch(shell.fail);
  }
  function revert() {
    shell.hush();
    var message = $("revert-message").value.trim();
    if (!message) { shell.say({ key: "need_message" }, "error"); return; }
    shell.request("changes/" + encodeURIComponent(committed.change_id) + "/revert",
      { method: "POST", body: { message: message } }).then(function (res) {
      if (!res.ok) { E.refused(res); return; }
      $("revert").disabled = true;
      $("revert-text").textContent = t("reverted", { id: res.body.change_id });
      $("revert-text").dataset.change = String(res.body.change_id);
      shell.say($("revert-text").textContent, "ok");
      forgetPreview();  // the impact drawn was that of the commit just undone
      return showLive().then(function () {
        if (!$("history-panel").hidden) loadHistory($("history-code").textContent);
      });
    }).catch(shell.fail);
  }
  function discard() {
    if (!discardArmed) {
      discardArmed = true;
      $("discard").textContent = t("discard_confirm");
      return;
    }
    shell.request(E.planPath("/discard"), { method: "POST" }).then(function (res) {
      if (!res.ok) { E.refused(res); return; }
      E.plan = res.body.plan || E.plan;
      $("plan-status").textContent = t("status_discarded");
      $("plan-status").dataset.status = "discarded";
      E.setReadOnly();
      shell.say({ key: "discarded" }, "info");
    }).catch(shell.fail);
  }

  $("preview").addEventListener("click", preview);
  $("commit-form").addEventListener("submit", commit);
  $("revert").addEventListener("click", revert);
  $("discard").addEventListener("click", discard);
  shell.onLang(function () {
    if (lastPreview) { renderProblems(lastPreview.problems || []); renderImpact(lastPreview); }
    if (committed) renderResult();
    if (discardArmed) $("discard").textContent = t("discard_confirm");
  });
  E.start();
})();
