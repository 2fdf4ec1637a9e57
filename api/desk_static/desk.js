/* The dispatch desk of gridgeo: queues, one incident, its timeline and the allowed actions.
 *
 * The shared shell (shell-static/shell.js) logs in, keeps the token, draws the header and turns
 * refusals into sentences; every list and action goes through the API, so the desk shows and
 * allows exactly what the account may see and do (GET /incident-actions says which action
 * leads where and who may take it). Times are China time, as the shell formats them.
 */
(function () {
  "use strict";

  var shell = window.gridgeoShell, $ = shell.$, el = shell.el, t = shell.t;
  var PAGE = 50;

  shell.strings({
    zh: {
      title: "网格事件调度台", queue: "队列", q_dispatch: "调度(未结案)",
      q_overdue: "超时", q_grid: "网格待办", q_all: "全部", state: "状态", category: "类别",
      area: "区域编码", search: "查询", escalate: "执行超时升级", grid: "网格", reported: "上报",
      due: "时限", flags: "标记", empty: "没有符合条件的事件", more: "更多", incident: "事件",
      actions: "操作", department: "联动处置单位", assignee: "处置人（本网格的网格员）",
      rating: "群众评价", note: "说明", confirm: "确定", cancel: "取消", timeline: "处置过程",
      any: "全部", open: "未办结", no_actions: "当前状态下您无可执行的操作",
      need_note: "请填写说明", need_rating: "请选择评价", chain: "所属", candidates: "候选网格",
      duplicate_of: "疑似重复", major: "重大", escalation: "升级", queue_area: "所在队列",
      grid_worker: "{grid} 的网格员",
      assignee_f: "处置人", department_f: "处置单位", reporter: "上报人", description: "描述",
      accept_due: "受理时限", resolve_due: "办结时限", rating_f: "评价", overdue: "超时",
      original: "原定时限", late: "逾期", on_time: "未逾期", extended_due: "延期至",
      extension_requested: "延期申请待批", until: "时限至(延期)", need_until: "请填写新的时限",
      need_rating_or_note: "请选择评价，或在说明中写明未评价的原因", q_extension: "延期申请",
      dashboard: "综合评价",
      escalated: "已升级 {n} 件", total: "共 {n} 件",
      act: { accept: "受理", dispatch: "派遣", start: "开始处置", resolve: "办结", verify: "核查通过",
        close: "结案", reopen: "重新办理", mark_major: "标记重大", report: "上报",
        escalate: "升级", photo: "补充照片", regrid: "调整网格", move: "随网格调整",
        request_extension: "申请延期", approve_extension: "批准延期", refuse_extension: "不予延期",
        "return": "回退", merge: "合并居民来件", not_fixed: "居民反映未解决", rate: "居民评价",
        deliberate: "标为议事", discuss: "网格议事", decide: "会议定事", link_task: "联动办事",
        open_to_volunteers: "开放党员领单", claim: "党员领单", volunteer_done: "志愿者办结" },
      regrid_to: "归属网格", current: "当前", need_grid: "请选择网格",
      overdue_f: "是否超时", overdue_yes: "超时", overdue_no: "未超时", flag_f: "标记",
      who_grid: "本网格全体网格员（{grid}）", who_workers: "网格员", who_accounts: "账号",
      account: "账号", expand: "点击展开全文", collapse: "点击收起",
      states: { reported: "已上报", accepted: "已受理", dispatched: "已派遣", in_progress: "处置中",
        resolved: "已处置", verified: "已核查", closed: "已结案" },
    },
    en: {
      title: "Grid incident desk", queue: "Queue", q_dispatch: "Dispatch (not closed)",
      q_overdue: "Overdue", q_grid: "Grid to-do", q_all: "All", state: "State", category: "Category",
      area: "Area code", search: "Search", escalate: "Escalate overdue", grid: "Grid",
      reported: "Reported", due: "Due", flags: "Flags", empty: "No incidents match",
      more: "More", incident: "Incident", actions: "Actions", department: "Linked department",
      assignee: "Handler (a worker of the grid)", rating: "Resident's rating", note: "Note",
      confirm: "Confirm", cancel: "Cancel", timeline: "Timeline", any: "all", open: "open",
      no_actions: "nothing you may do in this state", need_note: "a note is needed",
      need_rating: "choose a rating", chain: "In", candidates: "Candidate grids",
      duplicate_of: "Likely duplicate of", major: "Major", escalation: "Escalated",
      queue_area: "Queue", assignee_f: "Assignee", department_f: "Department",
      grid_worker: "the worker of {grid}",
      reporter: "Reporter", description: "Description", accept_due: "Accept by",
      resolve_due: "Resolve by", rating_f: "Rating", overdue: "overdue",
      original: "Original limit", late: "late", on_time: "not late", extended_due: "Extended to",
      extension_requested: "Extension asked", until: "New limit (extension)",
      need_until: "a new limit is needed",
      need_rating_or_note: "choose a rating, or say in the note why there is none",
      q_extension: "Extension requests", dashboard: "Evaluation",
      escalated: "{n} escalated", total: "{n} in all",
      act: { accept: "Accept", dispatch: "Dispatch", start: "Start", resolve: "Resolve",
        verify: "Verify", close: "Close", reopen: "Reopen", mark_major: "Mark major",
        report: "Report", escalate: "Escalate", photo: "Photos", regrid: "Move to grid",
        move: "Moved with its grid", request_extension: "Ask for more time",
        approve_extension: "Approve extension", refuse_extension: "Refuse extension",
        "return": "Return (not ours)", merge: "A resident's report merged in",
        not_fixed: "Not fixed, says the resident", rate: "Rated by the resident",
        deliberate: "Marked for deliberation", discuss: "Discussed in the grid",
        decide: "Decided by the community meeting", link_task: "Linked task",
        open_to_volunteers: "Opened to volunteers", claim: "Claimed by a volunteer",
        volunteer_done: "Done by the volunteer" },
      regrid_to: "Grid", current: "current", need_grid: "choose a grid",
      overdue_f: "Overdue", overdue_yes: "overdue", overdue_no: "not overdue", flag_f: "Flag",
      who_grid: "all workers of the grid ({grid})", who_workers: "Workers",
      who_accounts: "Accounts", account: "account", expand: "click for the whole text",
      collapse: "click to shorten",
      states: { reported: "reported", accepted: "accepted", dispatched: "dispatched",
        in_progress: "in progress", resolved: "resolved", verified: "verified", closed: "closed" }
    }
  });
  var FILTERS = [["queue", "f-queue"], ["state", "f-state"], ["category", "f-category"],
    ["overdue", "f-overdue"], ["flags", "f-flags"], ["area", "f-area"]];
  var SHORT = 24;  // characters of a description the list shows; the whole on click or hover

  var st = { me: null, rules: null, states: [], marks: [], categories: [], departments: [], rows: [],
    after: null, selected: null, incident: null, action: null, map: null, marker: null,
    outlines: null, shapes: {}, summary: null, blobs: [], expanded: {} };

  function when(iso) { return shell.time(iso, { year: false }); }  // the column says China time
  function dueAt(iso) { return shell.time(iso, { year: false, label: true }); }
  function stateName(k) { return shell.label("states", k); }
  function actName(a) { return shell.label("act", a); }
  function num(n) { return Number(n).toLocaleString("en-US"); }  // 31,799
  // a mark's words, as the server states them (GET /incident-actions, gridgeo/incidents/marks.py)
  function flagName(f) {
    var m = st.marks.filter(function (x) { return x.key === f; })[0];
    return m ? (shell.lang === "zh" ? m.zh : m.en) : f;
  }
  function catLabel(key) {
    var c = st.categories.filter(function (x) { return x.key === key; })[0];
    return c ? (shell.lang === "zh" ? c.label_zh : c.label_en) : key;
  }
  function post(path, data) { return shell.api(path, { method: "POST", body: data }); }
  // Overdue (past due_at) and late (past the original resolve limit, as the evaluation counts
  // on time) are the server's judgement, i.overdue and i.late: the page displays them.

  /* --- signed in / out ------------------------------------------------------------------ */
  function ready(me) {
    st.me = me;
    $("escalate").hidden = me.role !== "admin";
    Promise.all([shell.api("incident-actions"), shell.api("categories"), shell.api("departments")])
      .then(function (r) {
        st.rules = r[0].actions; st.states = r[0].states; st.marks = r[0].marks || [];
        st.categories = r[1]; st.departments = r[2];
        fillFilters(); fromUrl();
        load(false);
        if (shell.deskResidents) shell.deskResidents.load();  // desk-static/residents.js
      }).catch(function (e) { shell.show($("list-error"), e); });
  }
  function signedOut() {
    st.me = null; st.incident = null; st.selected = null; st.rows = [];
    $("detail").hidden = true;
  }
  function redraw() {
    if (!st.me || !st.rules) return;
    fillFilters(); renderList(); renderSummary();
    if (st.incident) renderDetail();
  }

  /* --- the queue ------------------------------------------------------------------------ */
  function fillFilters() {
    var s = $("f-state"), c = $("f-category"), f = $("f-flags"), sv = s.value, cv = c.value,
      fv = f.value;
    s.innerHTML = ""; c.innerHTML = ""; f.innerHTML = "";
    f.appendChild(el("option", { value: "" }, t("any")));
    st.marks.forEach(function (m) { f.appendChild(el("option", { value: m.key }, flagName(m.key))); });
    f.value = fv;
    s.appendChild(el("option", { value: "" }, t("any")));
    st.states.forEach(function (k) { s.appendChild(el("option", { value: k }, stateName(k))); });
    c.appendChild(el("option", { value: "" }, t("any")));
    st.categories.forEach(function (x) { c.appendChild(el("option", { value: x.key }, catLabel(x.key))); });
    s.value = sv; c.value = cv;
  }
  function query() {
    var q = new URLSearchParams();
    FILTERS.forEach(function (p) { var v = $(p[1]).value.trim(); if (v) q.set(p[0], v); });
    q.set("limit", String(PAGE));
    return q;
  }
  /* The filters live in the page's address (?queue=…&overdue=true&flags=returned), so a
   * reload or a shared link shows the same list; other parameters (lang) are kept. */
  function fromUrl() {
    var u = new URLSearchParams(location.search);
    FILTERS.forEach(function (p) {
      if (!u.has(p[0])) return;
      var box = $(p[1]), v = u.get(p[0]);
      if (box.tagName === "SELECT" && !Array.prototype.some.call(box.options,
        function (o) { return o.value === v; })) return;  // not one of the choices: ignored
      box.value = v;
    });
  }
  function toUrl() {
    var u = new URLSearchParams(location.search);
    FILTERS.forEach(function (p) {
      var v = $(p[1]).value.trim();
      if (v || p[0] === "queue") u.set(p[0], v); else u.delete(p[0]);  // queue= : all queues
    });
    history.replaceState(null, "", location.pathname + "?" + u.toString() + location.hash);
  }
  function load(more) {
    var q = query();
    if (!more) toUrl();
    if (more && st.after) q.set("after", String(st.after));
    shell.show($("list-error"), null);
    shell.api("incidents?" + q.toString()).then(function (b) {
      st.rows = more ? st.rows.concat(b.incidents) : b.incidents;
      st.after = b.incidents.length === PAGE ? b.next_after : null;
      renderList();
    }).catch(function (e) { shell.show($("list-error"), e); });
    if (!more) summary();
  }
  function summary() {
    shell.api("incidents/summary").then(function (rows) { st.summary = rows; renderSummary(); })
      .catch(function () {});
  }
  function renderSummary() {
    var by = {}, n = 0;
    (st.summary || []).forEach(function (r) { by[r.state] = (by[r.state] || 0) + r.count; n += r.count; });
    $("summary").textContent = [t("total", { n: num(n) })].concat(st.states
      .filter(function (k) { return by[k]; })
      .map(function (k) { return stateName(k) + " " + num(by[k]); })).join(" · ");
  }
  /* The server's marks; "late" beside "overdue" says nothing more, so it is not repeated. */
  function badges(i) {
    var marks = i.marks || [];
    return marks.filter(function (m) { return !(m === "late" && marks.indexOf("overdue") >= 0); });
  }
  /* The description, shortened; the whole on hover (title) and on a click of the cell, which
   * stays open when the list is drawn again (the click also selects the row, which redraws). */
  function descCell(i) {
    var whole = i.description || "", short = Array.from(whole);
    var cut = short.length > SHORT ? short.slice(0, SHORT).join("") + "…" : whole;
    var open = !!st.expanded[i.id];
    var td = el("td", { "class": "desc", title: whole }, open ? whole : cut);
    if (cut === whole) return td;
    td.classList.add("cut");
    td.setAttribute("aria-expanded", String(open));
    td.addEventListener("click", function () {
      open = !st.expanded[i.id];
      st.expanded[i.id] = open;
      td.setAttribute("aria-expanded", String(open));
      td.textContent = open ? whole : cut;
    });
    return td;
  }
  function renderList() {
    var body = document.querySelector("#list tbody");
    body.innerHTML = "";
    st.rows.forEach(function (i) {
      var tr = el("tr", { "data-id": i.id });
      if (i.overdue) tr.className = "overdue";
      if (i.id === st.selected) tr.className += " selected";
      tr.appendChild(el("td", {}, i.id));
      tr.appendChild(el("td", { "class": "cat" }, catLabel(i.category)));
      tr.appendChild(descCell(i));
      tr.appendChild(el("td", { "class": "st" }, stateName(i.state)));
      var gcell = el("td", { "class": "grid" }, i.grid_name ? i.grid_name + " " : "");
      gcell.appendChild(el("small", { "class": "code" }, i.grid));  // the name, the code beside
      tr.appendChild(gcell);
      tr.appendChild(el("td", { "class": "when" }, when(i.reported_at)));
      var td = el("td", { "class": "due" }, i.due_at ? when(i.due_at) : "—");
      if (i.overdue) td.className = "due late";
      tr.appendChild(td);
      var orig = el("td", { "class": "orig", "data-late": String(!!i.late) }, when(i.resolve_due));
      if (i.late) {  // the server's word: past the original limit
        orig.className = "orig late";
        orig.appendChild(el("span", { "class": "badge late" }, t("late")));
      }
      tr.appendChild(orig);
      var fl = el("td", { "class": "flags" });
      badges(i).forEach(function (f) {
        fl.appendChild(el("span", { "class": "badge " + f }, flagName(f)));
      });
      tr.appendChild(fl);
      tr.addEventListener("click", function () { select(i.id); });
      body.appendChild(tr);
    });
    $("empty").hidden = st.rows.length > 0;
    $("more").hidden = !st.after;
  }
  $("filters").addEventListener("submit", function (ev) { ev.preventDefault(); load(false); });
  $("more").addEventListener("click", function () { load(true); });
  $("escalate").addEventListener("click", function () {
    post("incidents/escalate", {}).then(function (b) {
      shell.show($("list-error"), { key: "escalated", vars: { n: num(b.escalated.length) } });
      load(false);
    }).catch(function (e) { shell.show($("list-error"), e); });
  });

  /* --- one incident --------------------------------------------------------------------- */
  function select(id) {
    st.selected = id;
    document.querySelectorAll("#list tbody tr").forEach(function (tr) {
      tr.classList.toggle("selected", Number(tr.getAttribute("data-id")) === id);
    });
    return shell.api("incidents/" + id + "?judge=true").then(function (inc) {
      st.incident = inc; st.action = null;
      renderDetail();
      // the list row follows the incident's new state
      st.rows = st.rows.map(function (r) { return r.id === inc.id ? listRow(inc) : r; });
      renderList();
    }).catch(function (e) { shell.show($("list-error"), e); });
  }
  function fact(dl, key, value) {
    if (value === null || value === undefined || value === "") return;
    dl.appendChild(el("dt", {}, t(key)));
    var dd = el("dd", {});
    if (value instanceof Node) dd.appendChild(value); else dd.textContent = String(value);
    dl.appendChild(dd);
  }
  /* One incident (with its chain) as a row of the list, which names its grid and queue. */
  function listRow(inc) {
    var name = function (code) {
      var c = (inc.chain || []).filter(function (x) { return x.code === code; })[0];
      return c ? c.name : null;
    };
    return Object.assign({ grid_name: name(inc.grid), queue_name: name(inc.queue_area) }, inc);
  }
  /* An area of the incident's chain by its name, the code beside (the code alone if unknown). */
  function named(i, code) {
    var c = (i.chain || []).filter(function (x) { return x.code === code; })[0];
    return c ? c.name + " " + code : code;
  }
  function renderDetail() {
    var i = st.incident;
    $("detail").hidden = false;
    $("d-id").textContent = "#" + i.id;
    $("d-state").textContent = stateName(i.state);
    var dl = $("d-facts");
    dl.innerHTML = "";
    fact(dl, "category", catLabel(i.category));
    fact(dl, "description", i.description);
    fact(dl, "chain", (i.chain || []).map(function (c) { return c.name + " " + c.code; }).join(" › "));
    if ((i.candidates || []).length > 1) fact(dl, "candidates", i.candidates.join(", "));
    if (i.duplicate_of) {
      var a = el("a", { href: "#" }, "#" + i.duplicate_of);
      a.addEventListener("click", function (ev) { ev.preventDefault(); select(i.duplicate_of); });
      fact(dl, "duplicate_of", a);
    }
    fact(dl, "flags", badges(i).map(flagName).join(shell.lang === "zh" ? "、" : ", "));
    fact(dl, "queue_area", named(i, i.queue_area) + (i.escalation_level ? " (" + t("escalation") +
      " " + i.escalation_level + ")" : ""));
    fact(dl, "reporter", i.reporter);
    var who = i.assignee && i.assignee.indexOf("grid:") === 0 ?  // the grid's worker, by the grid
      t("grid_worker", { grid: named(i, i.assignee.slice(5)) }) : i.assignee;
    fact(dl, "assignee_f", who);
    fact(dl, "department_f", i.department);
    fact(dl, "accept_due", i.state === "reported" ? dueAt(i.accept_due) : null);
    var o = el("span", { id: "d-original", "data-late": String(!!i.late) },
      dueAt(i.resolve_due) + " · " + (i.late ? t("late") : t("on_time")));
    if (i.late) o.className = "late";
    fact(dl, "original", o);
    fact(dl, "extended_due", i.extended_due ? when(i.extended_due) : null);
    fact(dl, "extension_requested", i.extension_requested_at ? when(i.extension_requested_at) : null);
    fact(dl, "rating_f", i.rating);
    renderMap(i);
    renderActions();
    renderTimeline(i);
  }
  function shape(code) {  // a grid's outline (GeoJSON Feature), fetched once
    if (!st.shapes[code]) {
      st.shapes[code] = shell.api("grids/" + encodeURIComponent(code)).catch(function () { return null; });
    }
    return st.shapes[code];
  }
  function renderMap(i) {
    if (typeof L === "undefined" || i.lon === null || i.lon === undefined) return;
    var ll = [i.lat, i.lon];
    if (!st.map) {
      st.map = L.map("d-map", { attributionControl: false }).setView(ll, 17);
      st.outlines = L.layerGroup().addTo(st.map);
      st.marker = L.circleMarker(ll, { radius: 8, color: "#c62828" }).addTo(st.map);
    } else {
      st.map.setView(ll, 17); st.marker.setLatLng(ll);
    }
    st.outlines.clearLayers();
    var codes = [i.grid].concat((i.candidates || []).filter(function (c) { return c !== i.grid; }));
    codes.forEach(function (code, n) {
      shape(code).then(function (f) {
        if (!f || st.incident !== i) return;
        var layer = L.geoJSON(f, { style: n === 0 ? { color: "#1f3b5a", weight: 2, fillOpacity: 0.05 }
          : { color: "#ef6c00", weight: 2, dashArray: "6 4", fillOpacity: 0 } });
        layer.bindTooltip((f.properties && f.properties.name ? f.properties.name + " " : "") + code);
        if (n > 0) layer.on("click", function () {  // a candidate grid: move the incident there
          if (allowed(i).indexOf("regrid") < 0) return;
          openAction("regrid"); $("act-grid").value = code;
        });
        st.outlines.addLayer(layer);
        if (n === 0) st.map.fitBounds(layer.getBounds(), { maxZoom: 18, padding: [10, 10] });
      });
    });
  }
  function allowed(i) {
    return Object.keys(st.rules).filter(function (a) {
      var r = st.rules[a];
      var pending = !!i.extension_requested_at;
      return r.from.indexOf(i.state) >= 0 && r.roles.indexOf(st.me.role) >= 0 &&
        (r.pending === null || r.pending === undefined || r.pending === pending) &&
        !(a === "mark_major" && i.major) && !(a === "regrid" && (i.candidates || []).length < 2);
    });
  }
  function renderActions() {
    var box = $("d-actions"), acts = allowed(st.incident);
    box.innerHTML = "";
    $("act-form").hidden = true;
    if (!acts.length) { box.appendChild(el("p", { "class": "muted" }, t("no_actions"))); return; }
    acts.forEach(function (a) {
      var b = el("button", { type: "button", "data-action": a }, actName(a));
      b.addEventListener("click", function () { openAction(a); });
      box.appendChild(b);
    });
  }
  function openAction(a) {
    var i = st.incident;
    st.action = a;
    $("act-title").textContent = (actName(a)) + " #" + i.id;
    $("act-dep-row").hidden = $("act-who-row").hidden = a !== "dispatch";
    $("act-rating-row").hidden = a !== "close";
    $("act-grid-row").hidden = a !== "regrid";
    $("act-until-row").hidden = a !== "approve_extension" && a !== "request_extension";
    $("act-until").value = "";
    var grid = $("act-grid");
    grid.innerHTML = "";
    (i.candidates || []).forEach(function (c) {
      grid.appendChild(el("option", { value: c }, c + (c === i.grid ? " (" + t("current") + ")" : "")));
    });
    grid.value = (i.candidates || []).filter(function (c) { return c !== i.grid; })[0] || i.grid;
    var dep = $("act-dep");
    dep.innerHTML = "";
    dep.appendChild(el("option", { value: "" }, "—"));
    st.departments.filter(function (d) { return d.categories.indexOf(i.category) >= 0; })
      .forEach(function (d) { dep.appendChild(el("option", { value: d.name }, d.name)); });
    if (a === "dispatch") fillHandlers(i);
    $("act-rating").value = ""; $("act-note").value = "";
    shell.show($("act-error"), null);
    $("act-form").hidden = false;
    $("act-note").focus();
  }
  /* Whom the incident may be dispatched to: the workers of its grid, from the server (GET
   * /incidents/{id}/handlers); the server refuses anyone else. Empty: the grid's workers as a
   * whole (or the department chosen above). A worker: name (role) and code; an account: its
   * login (role) and the area code it covers. */
  function fillHandlers(i) {
    var who = $("act-who");
    who.innerHTML = "";
    who.appendChild(el("option", { value: "" }, t("who_grid", { grid: named(i, i.grid) })));
    who.disabled = true;
    shell.api("incidents/" + i.id + "/handlers").then(function (b) {
      if (st.incident !== i) return;
      var groups = { worker: el("optgroup", { label: t("who_workers") }),
        account: el("optgroup", { label: t("who_accounts") }) };
      b.handlers.forEach(function (h) {
        var role = h.kind === "worker" ? (shell.lang === "zh" ? h.role_zh : h.role_en)
          : shell.label("shell.role", h.role);
        var paren = shell.lang === "zh" ? "（" + role + "）" : " (" + role + ")";
        var text = h.kind === "worker" ? h.name + paren + (h.code ? " " + h.code : "")
          : t("account") + " " + h.account + paren + " " + h.code;
        var value = h.kind === "worker" ? "w:" + h.id : "a:" + h.account;
        groups[h.kind].appendChild(el("option", { value: value, "data-name": h.name }, text));
      });
      ["worker", "account"].forEach(function (k) {
        if (groups[k].children.length) who.appendChild(groups[k]);
      });
    }).catch(function (e) { shell.show($("act-error"), e); })
      .then(function () { who.disabled = false; });
  }
  $("act-cancel").addEventListener("click", function () { $("act-form").hidden = true; });
  $("act-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var a = st.action, i = st.incident, note = $("act-note").value.trim();
    if (st.rules[a].needs_note && !note) { shell.show($("act-error"), { key: "need_note" }); return; }
    var data = { action: a, note: note };
    if (a === "close") {  // a rating, or a note saying why there is none
      if (!$("act-rating").value && !note) {
        shell.show($("act-error"), { key: "need_rating_or_note" }); return;
      }
      if ($("act-rating").value) data.rating = Number($("act-rating").value);
    }
    if (a === "approve_extension" || a === "request_extension") {
      var until = $("act-until").value;  // local time, sent with the browser's offset
      if (!until && a === "approve_extension") { shell.show($("act-error"), { key: "need_until" }); return; }
      if (until) data.until = new Date(until).toISOString();
    }
    if (a === "regrid") {
      if (!$("act-grid").value) { shell.show($("act-error"), { key: "need_grid" }); return; }
      data.grid = $("act-grid").value;
    }
    if (a === "dispatch") {
      if ($("act-dep").value) data.department = $("act-dep").value;
      var who = $("act-who").value;  // w:<worker id> or a:<account login>
      if (who.indexOf("w:") === 0) data.worker = Number(who.slice(2));
      else if (who.indexOf("a:") === 0) data.assignee = who.slice(2);
    }
    $("act-submit").disabled = true;
    post("incidents/" + i.id + "/transitions", data).then(function (inc) {
      st.incident = inc;
      st.rows = st.rows.map(function (r) { return r.id === inc.id ? listRow(inc) : r; });
      renderDetail(); renderList(); summary();
    }).catch(function (e) { shell.show($("act-error"), e); })
      .then(function () { $("act-submit").disabled = false; });
  });
  /* A report's note is the marks its report set ("boundary, duplicate"): said in words. */
  function reportNote(e) {
    if (e.action !== "report") return null;
    var keys = e.note.split(", ");
    var known = keys.every(function (k) { return st.marks.some(function (m) { return m.key === k; }); });
    return known ? keys.map(flagName).join(shell.lang === "zh" ? "、" : ", ") : null;
  }
  function renderTimeline(i) {
    var ol = $("d-timeline");
    st.blobs.forEach(function (u) { URL.revokeObjectURL(u); });
    st.blobs = [];
    ol.innerHTML = "";
    (i.timeline || []).forEach(function (e) {
      var li = el("li", { "data-action": e.action });
      var move = e.from_state && e.to_state && e.from_state !== e.to_state ?
        " (" + stateName(e.from_state) + " → " + stateName(e.to_state) + ")" : "";
      li.appendChild(el("strong", {}, actName(e.action)));
      li.appendChild(document.createTextNode(move + " · " + when(e.at) +
        (e.actor ? " · " + e.actor : "")));
      if (e.note) {
        li.appendChild(el("div", { "class": "muted note" }, reportNote(e) ||
          shell.noteText(e.note_parts, e.note)));
      }
      (e.photos || []).forEach(function (pid) {
        var img = el("img", { alt: "photo " + pid });
        li.appendChild(img);
        shell.send("incidents/" + i.id + "/photos/" + pid + "?size=thumb").then(function (r) { return r.ok ? r.blob() : null; }).then(function (b) {
          if (!b) return;
          var u = URL.createObjectURL(b); st.blobs.push(u); img.src = u;
        }).catch(function () {});
      });
      ol.appendChild(li);
    });
  }

  shell.onLang(redraw);
  shell.deskReload = function () { if (st.me && st.rules) load(false); };  // residents.js
  shell.start({ ready: ready, signedOut: signedOut });
})();
