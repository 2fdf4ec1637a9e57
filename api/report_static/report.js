/* The phone reporting page of gridgeo: log in, locate, report, queue offline, my grid.
 *
 * The outbox is the shell's (shell-static/outbox.js, shared with the residents' page /resident);
 * this page says where its items go and when a transition counts as acknowledged.
 * Outbox: every report is stored in localStorage first ("queued") with a client-generated
 * Idempotency-Key, then POSTed ("sent") when the phone is online; a 201 (new) or 200
 * (Idempotent-Replayed) answer marks it "acknowledged" with the incident id. A network error or
 * a 5xx puts it back to "queued"; the 'online' event and a retry timer send it again with the
 * same key, so a retry never creates a second incident. A 4xx other than 401/408/429 is final
 * ("rejected", with the server's message).
 *
 * Photos are resized on the phone (longest side 1600 px, JPEG 0.8; the re-encoding also drops
 * EXIF, GPS included) and kept as Blobs in IndexedDB under the outbox item's key until the item
 * is acknowledged or rejected; an item with photos is sent as multipart/form-data, the same
 * fields plus files in "photo". Actions on "my grid" incidents (accept, start, resolve with
 * a note and photos) go through the same outbox; a 409 saying the incident is already in the
 * action's target state acknowledges a retry whose first answer was lost.
 *
 * The shared shell (shell-static/shell.js) logs in, keeps the token and the account (so the
 * page starts offline with the last account), draws the header and the language; a refusal
 * is kept as its status and body and shown through the shell's describe(), in the page's
 * language.
 */
(function () {
  "use strict";

  var shell = window.gridgeoShell, $ = shell.$, t = shell.t, esc = shell.esc;
  var KEYS = { queue: "gridgeo.report.outbox", cats: "gridgeo.report.categories" };
  var RETRY_MS = 15000;
  var MAX_PHOTOS = 6;
  var IDB_NAME = "gridgeo-report";
  var NEXT = { reported: "accept", accepted: "start", dispatched: "start", in_progress: "resolve" };
  var TARGET = { accept: "accepted", start: "in_progress", resolve: "resolved" };
  var MAX_DESCRIPTION = 4000;  // gridgeo.incidents.policy.MAX_DESCRIPTION (tests hold them equal)

  shell.strings({
    zh: {
      title: "网格事件上报", location: "位置", grid: "网格", code: "编码", worker: "网格员",
      drag_hint: "位置不准时可拖动图钉纠正。", use_gps: "使用 GPS 位置", new_report: "新事件",
      category: "类别", description: "描述", submit: "上报", outbox: "发送记录",
      clear_done: "清除已确认", my_grid: "我的网格", refresh: "刷新",
      online: "在线", offline: "离线", queued: "待发送", sent: "已发送", acknowledged: "已确认",
      rejected: "被拒绝", waiting_fix: "正在获取位置…", no_fix: "无法获取位置:",
      accuracy: "精度 ±{m} 米", manual: "已手动纠正位置", outside: "不在任何网格内",
      nearest: "最近网格 {name},{d} 米", not_yours: "不在您的管辖范围", workers_n: "{n} 人",
      send_not_yours: "此位置在{name}，不在您的管辖范围，上报会被拒绝：请把图钉移到您的网格内",
      send_outside: "此位置不在任何网格内，上报可能被拒绝：请核对位置，确认无误再点一次上报",
      send_outside_near: "此位置不在任何网格内（最近网格 {name}，{d} 米），上报可能被拒绝：请核对位置，确认无误再点一次上报",
      need_position: "请先获取或在地图上选定位置",
      empty_outbox: "暂无记录", empty_mine: "暂无待办事件", offline_list: "离线,显示上次结果",
      incident: "事件", away: "{d} 米", unknown: "未知", queue: "所在队列",
      too_long: "描述有 {n} 个字，最多 {max} 个字，请删减后再上报",
      photos: "照片(可选)", photos_n: "{n} 张照片", photo_error: "照片无法读取:",
      too_many_photos: "最多 6 张照片", resolve_title: "办结事件", resolve_note: "处置情况",
      resolve_photo: "处置后照片", resolve_btn: "办结", cancel: "取消",
      need_note: "请填写处置情况", photos_lost: "本机存储的照片已丢失",
      act_accept: "受理", act_start: "开始处置", act_resolve: "办结",
      building: "楼栋(可选)", unit: "单元", no_building: "不指定楼栋", any_unit: "不指定单元",
      buildings: "本网格楼栋", households_n: "{n} 户", unit_n: "{n}单元", in_grid: "属网格 {code}",
      no_buildings: "本网格没有登记楼栋",
      legend_own: "我的网格", legend_nb: "相邻网格", legend_road: "道路", legend_river: "河流",
      states: { reported: "已上报", accepted: "已受理", dispatched: "已派遣", in_progress: "处置中",
        resolved: "已处置", verified: "已核查", closed: "已结案" }
    },
    en: {
      title: "Grid incident report", location: "Location", grid: "Grid", code: "Code", worker: "Worker",
      drag_hint: "Drag the pin to correct the position.", use_gps: "Use GPS position",
      new_report: "New incident", category: "Category", description: "Description",
      submit: "Report", outbox: "Outbox", clear_done: "Clear acknowledged", my_grid: "My grid",
      refresh: "Refresh", online: "online", offline: "offline",
      queued: "queued", sent: "sent", acknowledged: "acknowledged", rejected: "rejected",
      waiting_fix: "Getting the position…", no_fix: "No position:", accuracy: "accuracy ±{m} m",
      manual: "position corrected by hand", outside: "outside every grid",
      nearest: "nearest grid {name}, {d} m", not_yours: "outside your areas",
      send_not_yours: "This place is in {name}, outside your areas; the report would be refused: " +
        "move the pin into your grid",
      send_outside: "This place is outside every grid; the report may be refused: check the " +
        "place, then tap Report again to send it anyway",
      send_outside_near: "This place is outside every grid (nearest {name}, {d} m); the report " +
        "may be refused: check the place, then tap Report again to send it anyway",
      workers_n: "{n} workers", need_position: "Get a position or pick one on the map first",
      empty_outbox: "nothing sent yet",
      empty_mine: "no open incidents", offline_list: "offline: last known list",
      incident: "incident", away: "{d} m", unknown: "unknown", queue: "queue",
      too_long: "The description has {n} characters; at most {max}: shorten it before sending",
      photos: "Photos (optional)", photos_n: "{n} photos", photo_error: "cannot read photo:",
      too_many_photos: "at most 6 photos", resolve_title: "Resolve incident",
      resolve_note: "What was done", resolve_photo: "Photo after", resolve_btn: "Resolve",
      cancel: "Cancel", need_note: "Say what was done", photos_lost: "the photos on this phone are lost",
      act_accept: "Accept", act_start: "Start", act_resolve: "Resolve",
      building: "Building (optional)", unit: "Unit", no_building: "no building",
      any_unit: "no unit", buildings: "Buildings of this grid", households_n: "{n} households",
      unit_n: "unit {n}", in_grid: "in grid {code}", no_buildings: "No buildings recorded here",
      legend_own: "my grid", legend_nb: "neighbouring grid", legend_road: "road",
      legend_river: "river",
      states: { reported: "reported", accepted: "accepted", dispatched: "dispatched",
        in_progress: "in progress", resolved: "resolved", verified: "verified", closed: "closed" }
    }
  });

  var state = { gps: null, pos: null, manual: false, grid: null, categories: [], mine: [],
    flushing: false, map: null, pin: null, circle: null, outline: null, outlineCode: null };

  function online() { return navigator.onLine !== false; }
  function token() { return shell.token(); }
  function user() { return shell.me ? shell.me.name : ""; }

  /* ---- signed in ---- */
  function showApp() {
    initMap(); startGps(); loadCategories(); renderQueue(); flush(); loadMine();
  }
  function redraw() {
    renderNet(); renderFix(); renderGrid(); renderCategories(); renderQueue(); renderMine();
    renderBuildings();
  }

  /* ---- map and position ---- */
  function initMap() {
    if (state.map || typeof L === "undefined") return;
    // no internet base map (the page must work offline): the grids around and the streets
    // (around.js) are what a worker orients by; zoom 12 is the widest view they are sent for
    state.map = L.map("map", { attributionControl: false, zoomControl: true, minZoom: 12,
      maxZoom: 19 }).setView([36.7, 119.1], 15);
    var icon = L.divIcon({ className: "pin", html: "<div></div>", iconSize: [36, 36],
      iconAnchor: [18, 36] });
    state.pin = L.marker([36.7, 119.1], { draggable: true, icon: icon, autoPan: true });
    state.circle = L.circle([36.7, 119.1], { radius: 1, weight: 1, color: "#1565c0",
      fillOpacity: 0.1, interactive: false });
    state.around = window.gridgeoAround.create(state.map, { shell: shell, user: user,
      online: online, token: token, onError: noteError, keepClear: [state.pin] });
    state.around.load();
    state.pin.on("dragend", function () {
      var ll = state.pin.getLatLng();
      state.manual = true;
      setPosition({ lon: ll.lng, lat: ll.lat, accuracy: null });
    });
  }
  function startGps() {
    if (state.watch !== undefined) return;
    if (!navigator.geolocation) { renderFix(t("no_fix") + " geolocation"); return; }
    renderFix(t("waiting_fix"));
    state.watch = navigator.geolocation.watchPosition(function (p) {
      state.gps = { lon: p.coords.longitude, lat: p.coords.latitude,
        accuracy: Math.round(p.coords.accuracy) };
      if (!state.manual) setPosition(state.gps);
    }, function (err) {
      if (!state.pos) renderFix(t("no_fix") + " " + err.message);
    }, { enableHighAccuracy: true, maximumAge: 10000, timeout: 30000 });
  }
  function useGps() {
    state.manual = false;
    if (state.gps) setPosition(state.gps);
  }
  function setPosition(pos) {
    var moved = !state.pos || Math.abs(state.pos.lon - pos.lon) > 1e-6 ||
      Math.abs(state.pos.lat - pos.lat) > 1e-6;
    state.pos = pos;
    if (state.map) {
      var ll = [pos.lat, pos.lon];
      state.pin.setLatLng(ll).addTo(state.map);
      if (pos.accuracy) state.circle.setLatLng(ll).setRadius(pos.accuracy).addTo(state.map);
      else state.circle.remove();
      if (!state.outline) state.map.setView(ll, 17);
      state.around.fit();  // names keep clear of the pin where it now stands
    }
    renderFix();
    if (moved) { locate(); renderMine(); }
  }
  function renderFix(msg) {
    var p = state.pos;
    if (msg) { $("fix").textContent = msg; return; }
    if (!p) return;
    var s = p.lat.toFixed(6) + ", " + p.lon.toFixed(6) + " · ";
    s += p.accuracy ? t("accuracy", { m: p.accuracy }) : t("manual");
    $("fix").textContent = s;
  }
  function locate() {
    var p = state.pos;
    if (!p || !online() || !token()) return;
    var q = "locate?lon=" + p.lon.toFixed(7) + "&lat=" + p.lat.toFixed(7);
    shell.request(q).then(function (res) {
      if (p !== state.pos) return;  // a newer position is on its way
      var body = res.body || {};
      if (res.ok) {
        state.grid = { code: body.grid.code, name: body.grid.name, workers: null };
        loadGridDetails(state.grid);
      } else {
        state.grid = { outside: true, nearest: body.nearest };
      }
      renderGrid();
    }).catch(noteError);
  }
  function loadGridDetails(grid) {
    if (state.outlineCode !== grid.code) {
      shell.request("grids/" + encodeURIComponent(grid.code)).then(function (res) {
        if (!res.ok) { grid.denied = res.status === 403; renderGrid(); return null; }
        return res.body;
      }).then(function (feature) {
        if (!feature || !state.map) return;
        if (state.outline) state.outline.remove();
        state.outline = L.geoJSON(feature, { interactive: false,
          style: { color: "#b71c1c", weight: 3, fill: true, fillOpacity: 0.05 } }).addTo(state.map);
        state.outlineCode = grid.code;
        // no sliding: a finger about to drag the pin must find it where it was
        state.map.fitBounds(state.outline.getBounds(), { padding: [10, 10], animate: false });
        grid.workers = grid.workers || { count: feature.properties.workers, names: [] };
        renderGrid();
      }).catch(noteError);
    }
    shell.request("grids/" + encodeURIComponent(grid.code) + "/workers").then(function (res) {
      return res.ok ? res.body : null;
    }).then(function (body) {
      if (!body) return;
      grid.workers = { count: body.effective, names: body.workers.map(function (w) {
        return w.name; }) };
      renderGrid();
    }).catch(noteError);
    loadBuildings(grid);
  }

  /* ---- the grid's buildings (GET /grids/{code}/buildings): a report may name one and a unit,
   * whose grid then holds it (a unit may belong to a neighbouring grid) ---- */
  function loadBuildings(grid) {
    if (state.buildingsCode === grid.code) return;
    shell.request("grids/" + encodeURIComponent(grid.code) + "/buildings").then(function (res) {
      if (!res.ok) return;
      state.buildings = res.body.buildings; state.buildingsCode = grid.code;
      renderBuildings();
    }).catch(noteError);
  }
  function renderBuildings() {
    var list = state.buildings || [], grid = state.buildingsCode;
    var pick = $("building"), was = pick.value;
    pick.innerHTML = '<option value="">' + esc(t("no_building")) + "</option>" +
      list.map(function (b) {
        return '<option value="' + esc(b.code) + '">' + esc(b.name || b.number || b.code) +
          "</option>";
      }).join("");
    pick.value = was && list.some(function (b) { return b.code === was; }) ? was : "";
    renderUnits();
    $("building-list").innerHTML = list.length ? list.map(function (b) {
      var units = (b.units || []).map(function (u) {
        return '<li data-unit="' + esc(u.number) + '">' + esc(t("unit_n", { n: u.number })) + " " +
          esc(t("households_n", { n: u.households })) + (u.grid !== grid ? " · " +
          esc(t("in_grid", { code: u.grid })) : "") + "</li>";
      }).join("");
      return '<li data-building="' + esc(b.code) + '"><b>' + esc(b.name || b.number || b.code) +
        "</b> " + esc(t("households_n", { n: b.households })) +
        (units ? '<ul class="units">' + units + "</ul>" : "") + "</li>";
    }).join("") : '<li class="muted">' + esc(t("no_buildings")) + "</li>";
  }
  function renderUnits() {
    var code = $("building").value, pick = $("unit");
    var b = (state.buildings || []).filter(function (x) { return x.code === code; })[0];
    pick.innerHTML = '<option value="">' + esc(t("any_unit")) + "</option>" +
      ((b && b.units) || []).map(function (u) {
        return '<option value="' + esc(u.number) + '">' + esc(t("unit_n", { n: u.number })) +
          "</option>";
      }).join("");
    pick.disabled = !b;
  }

  function renderGrid() {
    var g = state.grid;
    var name = "—", code = "—", worker = "—";
    if (g && g.outside) {
      name = t("outside");
      if (g.nearest) code = t("nearest", { name: g.nearest.name, d: Math.round(g.nearest.distance_m) });
    } else if (g) {
      name = g.name; code = g.code;
      if (g.denied) worker = t("not_yours");
      else if (g.workers && g.workers.names.length) worker = g.workers.names.join("、");
      else if (g.workers) worker = t("workers_n", { n: g.workers.count });
    }
    $("grid-name").textContent = name; $("grid-code").textContent = code;
    $("grid-worker").textContent = worker;
  }

  /* ---- categories ---- */
  function loadCategories() {
    try { state.categories = JSON.parse(localStorage.getItem(KEYS.cats) || "[]"); }
    catch (e) { state.categories = []; }
    renderCategories();
    if (!online()) return;
    shell.request("categories").then(function (res) {
      if (!res.ok) return;
      state.categories = res.body;
      localStorage.setItem(KEYS.cats, JSON.stringify(res.body));
      renderCategories(); renderQueue(); renderMine();  // the outbox and list name them too
    }).catch(noteError);
  }
  function catLabel(key) {
    var c = state.categories.filter(function (x) { return x.key === key; })[0];
    if (!c) return key;
    return (shell.lang === "zh" ? c.label_zh : c.label_en) || c.key;
  }
  function renderCategories() {
    var sel = $("category"), keep = sel.value;
    sel.innerHTML = state.categories.map(function (c) {
      return '<option value="' + esc(c.key) + '">' + esc(catLabel(c.key)) + "</option>";
    }).join("");
    if (keep) sel.value = keep;
  }

  /* ---- the outbox (shell-static/outbox.js, shared with /resident) ---- */
  var box = shell.outbox({
    queueKey: KEYS.queue, idbName: IDB_NAME, maxPhotos: MAX_PHOTOS, tooMany: "too_many_photos",
    owner: user,
    canSend: function () { return online() && !!token(); },
    target: function (item) {
      return item.kind === "transition" ? ["incidents/" + item.incident + "/transitions", {}]
        : ["incidents", { "Idempotency-Key": item.key }];
    },
    acknowledged: function (item, res) {
      var body = res.body || {};
      if (res.status === 200 || res.status === 201 ||
          (res.status === 409 && item.target && body.state === item.target)) {
        return { id: body.id || item.incident };
      }
      return null;
    },
    changed: function () { renderQueue(); },
    flushed: function () { loadMine(); }
  });
  function enqueue(item, files) { return box.enqueue(item, files); }
  function flush() { return box.flush(); }
  function pickedFiles(id) { return shell.pickedFiles(id); }
  function renderPreviews(id, files) { shell.renderPreviews(id, files); }
  function refusal(error) { return shell.refusal(error); }
  function clearDone() { box.clearDone(); }

  function submitReport(ev) {
    ev.preventDefault();
    shell.show($("form-error"), null);
    var p = state.pos;
    if (!p) { shell.show($("form-error"), { key: "need_position" }); return; }
    var body = { lon: p.lon, lat: p.lat, category: $("category").value,
      description: $("description").value.trim(), accuracy_m: p.accuracy || null,
      coord_system: "wgs84" };
    if ($("building").value) {
      body.building = $("building").value;
      if ($("unit").value) body.unit = $("unit").value;
    }
    if (!body.category) { shell.show($("form-error"), { key: "category" }); return; }
    // a place the server would refuse is said before sending (a unit given decides by itself)
    var g = state.grid;
    if (!body.building && g && g.denied) {
      shell.show($("form-error"), { key: "send_not_yours", vars: { name: g.name } });
      return;
    }
    if (!body.building && g && g.outside && state.warnedAt !== p) {
      state.warnedAt = p;  // a second tap at the same place sends it anyway
      shell.show($("form-error"), g.nearest ? { key: "send_outside_near", vars: {
        name: g.nearest.name, d: Math.round(g.nearest.distance_m) } } : { key: "send_outside" });
      return;
    }
    // said before sending, not cut silently (a maxlength did): the server's limit, in characters
    var chars = Array.from(body.description).length;
    if (chars > MAX_DESCRIPTION) {
      shell.show($("form-error"), { key: "too_long", vars: { n: chars.toLocaleString("en-US"),
        max: MAX_DESCRIPTION.toLocaleString("en-US") } });
      $("description").focus();
      return;
    }
    $("submit").disabled = true;
    enqueue({ key: shell.uuid(), kind: "report", body: body }, pickedFiles("photo")).then(function () {
      $("description").value = ""; $("photo").value = ""; renderPreviews("photo-previews", []);
    }).catch(function (e) {
      shell.show($("form-error"), e);
    }).then(function () { $("submit").disabled = false; });
  }
  function act(incident, action, note, files) {
    return enqueue({ key: shell.uuid(), kind: "transition", incident: incident, target: TARGET[action],
      body: { action: action, note: note || "" } }, files || []);
  }
  function openResolve(incident) {
    state.resolving = incident;
    $("resolve-id").textContent = "#" + incident;
    shell.show($("resolve-error"), null);
    $("resolve").hidden = false;
    $("resolve").scrollIntoView({ block: "start" });
  }
  function closeResolve() {
    state.resolving = null;
    $("resolve").hidden = true;
    $("resolve-note").value = ""; $("resolve-photo").value = "";
    renderPreviews("resolve-previews", []);
  }
  function submitResolve(ev) {
    ev.preventDefault();
    var note = $("resolve-note").value.trim();
    if (!note) { shell.show($("resolve-error"), { key: "need_note" }); return; }
    $("resolve-submit").disabled = true;
    act(state.resolving, "resolve", note, pickedFiles("resolve-photo")).then(closeResolve,
      function (e) { shell.show($("resolve-error"), e); })
      .then(function () { $("resolve-submit").disabled = false; });
  }
  function onMineClick(ev) {
    var btn = ev.target.closest ? ev.target.closest("button.act") : null;
    if (!btn) return;
    var id = Number(btn.getAttribute("data-id")), action = btn.getAttribute("data-action");
    if (action === "resolve") openResolve(id);
    else act(id, action).catch(noteError);
  }
  function renderQueue() {
    var q = box.items();
    q.sort(function (a, b) { return b.created - a.created; });
    $("queue").innerHTML = q.length ? q.map(function (i) {
      var when = shell.time(i.created, { year: false });
      return '<li class="outbox-item" data-key="' + esc(i.key) + '" data-state="' + esc(i.state) +
        '"><span class="badge" data-state="' + esc(i.state) + '">' + esc(t(i.state)) + "</span>" +
        (i.id && i.kind !== "transition" ? '<span class="id">#' + esc(i.id) + "</span>" : "") +
        "<span>" + esc(i.kind === "transition" ? t("act_" + i.body.action) + " #" + i.incident :
          catLabel(i.body.category)) + "</span><span class=\"muted\">" + esc(when) + "</span>" +
        (i.photos ? '<span class="photos-n">' + esc(t("photos_n", { n: i.photos })) + "</span>" :
          "") + '<span class="desc">' + esc(i.kind === "transition" ? i.body.note :
          i.body.description) + "</span>" +
        (i.error && i.state === "rejected" ? '<span class="error">' + esc(refusal(i.error)) +
          "</span>" : "") +
        "</li>";
    }).join("") : '<li class="muted">' + esc(t("empty_outbox")) + "</li>";
  }
  /* ---- my grid ---- */
  function metres(a, b) {
    var r = Math.PI / 180, dlat = (b.lat - a.lat) * r, dlon = (b.lon - a.lon) * r;
    var h = Math.sin(dlat / 2) * Math.sin(dlat / 2) +
      Math.cos(a.lat * r) * Math.cos(b.lat * r) * Math.sin(dlon / 2) * Math.sin(dlon / 2);
    return 2 * 6371008.8 * Math.asin(Math.sqrt(h));
  }
  function loadMine() {
    if (!online() || !token()) { renderMine(); return; }
    shell.request("incidents?queue=located&limit=1000").then(function (res) {
      return res.ok ? res.body : null;
    }).then(function (body) {
      if (!body) return;
      state.mine = body.incidents; state.mineAt = Date.now();
      renderMine();
    }).catch(noteError);
  }
  function renderMine() {
    var here = state.pos, rows = state.mine.slice();
    rows.forEach(function (i) { i._d = here ? metres(here, i) : null; });
    if (here) rows.sort(function (a, b) { return a._d - b._d; });
    var html = rows.map(function (i) {
      return '<li class="mine-item" data-id="' + esc(i.id) + '"><span class="badge">' +
        esc(shell.label("states", i.state)) + '</span><span class="id">#' + esc(i.id) +
        "</span><span>" + esc(catLabel(i.category)) + "</span>" +
        (i._d !== null ? '<span class="muted dist">' + esc(t("away", { d: Math.round(i._d) })) +
          "</span>" : "") + (NEXT[i.state] ? '<button type="button" class="act" data-id="' +
          esc(i.id) + '" data-action="' + NEXT[i.state] + '">' + esc(t("act_" + NEXT[i.state])) +
          "</button>" : "") + '<span class="desc">' + esc(i.description) + "</span>" +
        (i.escalation_level > 0 ? '<span class="queue muted" data-queue="' + esc(i.queue_area) + '">' +
          esc(t("queue")) + " " + esc(i.queue_name || "") + " " + esc(i.queue_area) + "</span>" : "") +
        "</li>";
    }).join("");
    if (!rows.length) html = '<li class="muted">' + esc(t("empty_mine")) + "</li>";
    if (!online() && state.mineAt) html = '<li class="muted">' + esc(t("offline_list")) + "</li>" + html;
    $("my-incidents").innerHTML = html;
  }

  /* ---- network state ---- */
  function renderNet() {
    var on = online();
    $("net").dataset.state = on ? "online" : "offline";
    $("net").textContent = t(on ? "online" : "offline");
  }
  function noteError(e) {
    if (e instanceof shell.AuthError) return;
    if (window.console) console.warn("gridgeo report:", e);  // eslint-disable-line no-console
  }

  /* ---- start ---- */
  document.addEventListener("DOMContentLoaded", function () {
    $("report-form").addEventListener("submit", submitReport);
    $("use-gps").addEventListener("click", useGps);
    $("refresh").addEventListener("click", loadMine);
    $("clear-done").addEventListener("click", clearDone);
    $("photo").addEventListener("change", function () {
      renderPreviews("photo-previews", pickedFiles("photo"));
    });
    $("resolve-photo").addEventListener("change", function () {
      renderPreviews("resolve-previews", pickedFiles("resolve-photo"));
    });
    $("resolve-form").addEventListener("submit", submitResolve);
    $("resolve-cancel").addEventListener("click", closeResolve);
    $("my-incidents").addEventListener("click", onMineClick);
    $("building").addEventListener("change", renderUnits);
    window.addEventListener("online", function () {
      renderNet(); flush(); loadCategories(); locate(); loadMine();
      if (state.around) state.around.load();
    });
    window.addEventListener("offline", function () { renderNet(); renderMine(); });
    window.addEventListener("storage", function (e) { if (e.key === KEYS.queue) renderQueue(); });
    setInterval(function () { renderNet(); flush(); }, RETRY_MS);
    shell.onLang(redraw);
    // offline: with no connection the page starts with the last account (the outbox waits)
    shell.start({ ready: showApp, offline: true, waiting: function () {
      return box.items().filter(function (i) {
        return i.state === "queued" || i.state === "sent";
      }).length;
    } });
  });
})();
