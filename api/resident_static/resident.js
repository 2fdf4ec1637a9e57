/* The residents' page (居民提事·评事): raise a matter without an account, follow it by its
 * private link, rate it when it is closed, or say it is not fixed.
 *
 * The outbox is the shell's (shell-static/outbox.js, the same as the staff's /report): a matter
 * is kept on the phone first and sent with an Idempotency-Key when there is a connection, so a
 * retry never raises it twice. The private link's token is made here (32 random bytes) and sent
 * with the matter: the phone knows the link while the matter still waits in the outbox; the
 * server keeps only its hash. The link is this page with "#m=<token>": a fragment, which the
 * browser never sends to a server; the page reads the matter with the header X-Matter-Token.
 */
(function () {
  "use strict";

  var shell = window.gridgeoShell, $ = shell.$, t = shell.t, esc = shell.esc;
  var KEYS = { queue: "gridgeo.resident.outbox", cats: "gridgeo.resident.categories" };
  var RETRY_MS = 15000, MAX_PHOTOS = 3;  // gridgeo.incidents.policy.RESIDENT_MAX_PHOTOS
  var MAX_DESCRIPTION = 4000;  // gridgeo.incidents.policy.MAX_DESCRIPTION

  shell.strings({
    zh: {
      title: "居民提事", raise_title: "向社区反映问题",
      intro: "无需注册。提交后您会得到受理编号和一个专属链接，用来查看办理进度和评价结果。",
      where: "位置", pin_hint: "点地图或拖动图钉标出位置。", use_gps: "使用我的位置",
      or_community: "或者选择所在社区(不提供位置)", community_ph: "输入社区名称", clear: "清除",
      category: "类别", description: "描述", description_ph: "发生了什么?在哪里?",
      photos: "照片(可选,最多 3 张)", phone: "手机号(可选,便于回访)",
      phone_note: "手机号只有本区域的调度员能看到,不会公开;事项办结后按规定期限删除。",
      submit: "提交", mine: "我在本机提交的事项", clear_done: "清除已确认", refresh: "刷新",
      online: "在线", offline: "离线", queued: "待发送", sent: "发送中", acknowledged: "已提交",
      rejected: "未能提交", empty_outbox: "暂无记录", follow: "查看进度",
      need_where: "请在地图上标出位置，或选择所在社区", need_description: "请填写描述",
      too_long: "描述有 {n} 个字，最多 {max} 个字", too_many_photos: "最多 3 张照片",
      photo_error: "照片无法读取:", photos_lost: "本机存储的照片已丢失", photos_n: "{n} 张照片",
      accuracy: "精度 ±{m} 米", manual: "已在地图上选定", waiting_fix: "正在获取位置…",
      no_fix: "无法获取位置:", community_chosen: "社区:{name}",
      follow_title: "我的事项", timeline: "办理进度", rate_title: "请评价办理结果",
      comment: "意见(可选)", rate_btn: "提交评价", rated: "您的评价:{n} 星",
      not_fixed_label: "问题没有解决?(结案后 7 天内可反映,截至 {until})",
      not_fixed_btn: "反映未解决", need_rating: "请选择 1 至 5 星", need_note: "请说明仍未解决的情况",
      raise_another: "再提一件事", not_sent: "还未发送，联网后会自动发送", saved_link:
        "请保存此链接，用它查看进度:", reason: "不予受理的原因:{reason}", star: "{n} 星",
      states: { submitted: "待受理", reported: "已上报", accepted: "已受理", dispatched: "已派遣",
        in_progress: "处置中", resolved: "已处置", verified: "已核查", closed: "已结案",
        merged: "已合并", rejected: "不予受理" },
      actions: { submit: "居民提事", accepted: "受理", merged: "并入已有事件办理",
        rejected: "不予受理", accept: "受理", dispatch: "派遣", start: "开始处置",
        resolve: "处置完成", verify: "核查", close: "结案", reopen: "重新受理",
        not_fixed: "居民反映未解决", rate: "居民评价", merge: "合并居民来件", escalate: "超时升级",
        regrid: "调整网格", photo: "补充照片", move: "随网格调整", mark_major: "标为重大",
        request_extension: "申请延期", approve_extension: "批准延期",
        refuse_extension: "不予延期", "return": "回退" }
    },
    en: {
      title: "Tell your community", raise_title: "Report a problem to the community",
      intro: "No account needed. You get a tracking number and a private link to follow the " +
        "matter and rate the result.",
      where: "Place", pin_hint: "Tap the map or drag the pin to mark the place.",
      use_gps: "Use my position", or_community: "Or choose your community (no position)",
      community_ph: "community name", clear: "Clear", category: "Category",
      description: "Description", description_ph: "What happened, and where?",
      photos: "Photos (optional, at most 3)", phone: "Mobile number (optional, for a call back)",
      phone_note: "Only the dispatchers of your area see the number; it is never published " +
        "and is deleted some time after the matter is closed.",
      submit: "Send", mine: "Matters sent from this phone", clear_done: "Clear sent",
      refresh: "Refresh", online: "online", offline: "offline", queued: "waiting to send",
      sent: "sending", acknowledged: "sent", rejected: "not sent", empty_outbox: "nothing yet",
      follow: "Follow", need_where: "Mark the place on the map, or choose your community",
      need_description: "Say what the matter is",
      too_long: "The description has {n} characters; at most {max}",
      too_many_photos: "at most 3 photos", photo_error: "cannot read photo:",
      photos_lost: "the photos on this phone are lost", photos_n: "{n} photos",
      accuracy: "accuracy ±{m} m", manual: "chosen on the map", waiting_fix: "Getting the position…",
      no_fix: "No position:", community_chosen: "Community: {name}",
      follow_title: "My matter", timeline: "Progress", rate_title: "Please rate the result",
      comment: "Comment (optional)", rate_btn: "Send rating", rated: "Your rating: {n} stars",
      not_fixed_label: "Not fixed? (within 7 days of closing, until {until})",
      not_fixed_btn: "Say it is not fixed", need_rating: "Choose 1 to 5 stars",
      need_note: "Say what is still wrong", raise_another: "Report another matter",
      not_sent: "not sent yet; it goes as soon as there is a connection",
      saved_link: "Keep this link to follow the matter:", reason: "Not accepted because: {reason}",
      star: "{n} stars",
      states: { submitted: "awaiting acceptance", reported: "reported", accepted: "accepted",
        dispatched: "dispatched", in_progress: "in progress", resolved: "resolved",
        verified: "verified", closed: "closed", merged: "merged", rejected: "not accepted" },
      actions: { submit: "raised by you", accepted: "accepted", merged: "handled with an open case",
        rejected: "not accepted", accept: "accepted", dispatch: "dispatched", start: "work started",
        resolve: "resolved", verify: "verified", close: "closed", reopen: "reopened",
        not_fixed: "not fixed, says the resident", rate: "rated by the resident",
        merge: "a resident's report merged in", escalate: "escalated", regrid: "moved to another grid",
        photo: "photos added", move: "moved with its grid", mark_major: "marked major",
        request_extension: "more time asked", approve_extension: "more time granted",
        refuse_extension: "more time refused", "return": "returned" }
    }
  });

  var state = { pos: null, manual: false, community: null, categories: [], map: null, pin: null,
    circle: null, following: null, stars: 0 };

  function online() { return navigator.onLine !== false; }
  function newToken() {  // 32 random bytes, base64url: the private link's secret
    var b = crypto.getRandomValues(new Uint8Array(32)), s = "";
    for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function linkOf(token) {
    return location.href.split("#")[0] + "#m=" + token;
  }

  var box = shell.outbox({
    queueKey: KEYS.queue, idbName: "gridgeo-resident", maxPhotos: MAX_PHOTOS,
    tooMany: "too_many_photos", owner: function () { return ""; }, canSend: online,
    target: function (item) { return ["resident/matters", { "Idempotency-Key": item.key }]; },
    acknowledged: function (item, res) {
      var body = res.body || {};
      return res.status === 200 || res.status === 201 ? { tracking: body.tracking } : null;
    },
    changed: function () { renderQueue(); if (state.following) renderFollowPending(); }
  });

  /* ---- place: GPS, a pin, or a community ---- */
  function initMap() {
    if (state.map || typeof L === "undefined") return;
    state.map = L.map("map", { attributionControl: false }).setView([36.7, 119.1], 14);
    var icon = L.divIcon({ className: "pin", html: "<div></div>", iconSize: [36, 36],
      iconAnchor: [18, 36] });
    state.pin = L.marker([36.7, 119.1], { draggable: true, icon: icon, autoPan: true });
    state.circle = L.circle([36.7, 119.1], { radius: 1, weight: 1, color: "#1565c0",
      fillOpacity: 0.1, interactive: false });
    state.pin.on("dragend", function () {
      var ll = state.pin.getLatLng();
      setPosition({ lon: ll.lng, lat: ll.lat, accuracy: null }, true);
    });
    state.map.on("click", function (e) {
      setPosition({ lon: e.latlng.lng, lat: e.latlng.lat, accuracy: null }, true);
    });
  }
  function useGps() {
    if (!navigator.geolocation) { $("fix").textContent = t("no_fix") + " geolocation"; return; }
    $("fix").textContent = t("waiting_fix");
    navigator.geolocation.getCurrentPosition(function (p) {
      setPosition({ lon: p.coords.longitude, lat: p.coords.latitude,
        accuracy: Math.round(p.coords.accuracy) }, false);
    }, function (err) { $("fix").textContent = t("no_fix") + " " + err.message; },
    { enableHighAccuracy: true, timeout: 30000, maximumAge: 10000 });
  }
  function setPosition(pos, manual) {
    state.pos = pos; state.manual = manual;
    if (state.map) {
      var ll = [pos.lat, pos.lon];
      state.pin.setLatLng(ll).addTo(state.map);
      if (pos.accuracy) state.circle.setLatLng(ll).setRadius(pos.accuracy).addTo(state.map);
      else state.circle.remove();
      if (!manual) state.map.setView(ll, 17);
    }
    chooseCommunity(null);
    renderFix();
  }
  function renderFix() {
    var p = state.pos;
    if (!p) return;
    $("fix").textContent = p.lat.toFixed(6) + ", " + p.lon.toFixed(6) + " · " +
      (p.accuracy ? t("accuracy", { m: p.accuracy }) : t("manual"));
  }
  function searchCommunities() {
    var q = $("community-q").value.trim();
    if (!q || !online()) { $("community-list").innerHTML = ""; return; }
    shell.request("resident/communities?q=" + encodeURIComponent(q)).then(function (res) {
      if (!res.ok || $("community-q").value.trim() !== q) return;
      $("community-list").innerHTML = res.body.slice(0, 8).map(function (c) {
        return '<li><button type="button" data-code="' + esc(c.code) + '" data-name="' +
          esc(c.name) + '">' + esc(c.name) + (c.street ? " · " + esc(c.street) : "") +
          "</button></li>";
      }).join("");
    }).catch(function () {});
  }
  function chooseCommunity(c) {
    state.community = c;
    $("community-chosen").hidden = !c;
    if (c) {
      $("community-name").textContent = t("community_chosen", { name: c.name });
      $("community-list").innerHTML = ""; $("community-q").value = "";
      state.pos = null; $("fix").textContent = "";
      if (state.pin) state.pin.remove();
      if (state.circle) state.circle.remove();
    }
  }

  /* ---- categories ---- */
  function loadCategories() {
    try { state.categories = JSON.parse(localStorage.getItem(KEYS.cats) || "[]"); } catch (e) {
      state.categories = [];
    }
    renderCategories();
    if (!online()) return;
    shell.request("resident/categories").then(function (res) {
      if (!res.ok) return;
      state.categories = res.body;
      localStorage.setItem(KEYS.cats, JSON.stringify(res.body));
      renderCategories();
    }).catch(function () {});
  }
  function catLabel(key) {
    var c = state.categories.filter(function (x) { return x.key === key; })[0];
    return c ? (shell.lang === "en" ? c.label_en : c.label_zh) : key;
  }
  function renderCategories() {
    var sel = $("category"), was = sel.value;
    sel.innerHTML = state.categories.map(function (c) {
      return '<option value="' + esc(c.key) + '">' + esc(catLabel(c.key)) + "</option>";
    }).join("");
    if (was) sel.value = was;
  }

  /* ---- raise ---- */
  function submit(ev) {
    ev.preventDefault();
    shell.show($("form-error"), null);
    var body = { category: $("category").value, description: $("description").value.trim(),
      phone: $("phone").value.trim() || null, token: newToken() };
    if (state.community) body.community = state.community.code;
    else if (state.pos) {
      body.lon = state.pos.lon; body.lat = state.pos.lat; body.accuracy_m = state.pos.accuracy;
      body.coord_system = "wgs84";
    } else { shell.show($("form-error"), { key: "need_where" }); return; }
    if (!body.description) { shell.show($("form-error"), { key: "need_description" }); return; }
    var chars = Array.from(body.description).length;
    if (chars > MAX_DESCRIPTION) {
      shell.show($("form-error"), { key: "too_long", vars: { n: chars, max: MAX_DESCRIPTION } });
      return;
    }
    $("submit").disabled = true;
    box.enqueue({ key: shell.uuid(), kind: "matter", body: body }, shell.pickedFiles("photo"))
      .then(function () {
        $("description").value = ""; $("photo").value = ""; $("phone").value = "";
        shell.renderPreviews("photo-previews", []);
        location.hash = "m=" + body.token;  // follow it at once (offline: "not sent yet")
      }).catch(function (e) { shell.show($("form-error"), e); })
      .then(function () { $("submit").disabled = false; });
  }
  function renderQueue() {
    var q = box.items().slice().sort(function (a, b) { return b.created - a.created; });
    $("queue").innerHTML = q.length ? q.map(function (i) {
      return '<li class="outbox-item" data-key="' + esc(i.key) + '" data-state="' + esc(i.state) +
        '"><span class="badge" data-state="' + esc(i.state) + '">' + esc(t(i.state)) + "</span>" +
        (i.tracking ? '<span class="id tracking">' + esc(i.tracking) + "</span>" : "") +
        "<span>" + esc(catLabel(i.body.category)) + '</span><span class="muted">' +
        esc(shell.time(i.created, { year: false })) + "</span>" +
        (i.photos ? '<span class="photos-n">' + esc(t("photos_n", { n: i.photos })) + "</span>" : "") +
        '<span class="desc">' + esc(i.body.description) + "</span>" +
        (i.error && i.state === "rejected" ? '<span class="error">' + esc(shell.refusal(i.error)) +
          "</span>" : "") +
        '<a class="follow" href="#m=' + esc(i.body.token) + '">' + esc(t("follow")) + "</a></li>";
    }).join("") : '<li class="muted">' + esc(t("empty_outbox")) + "</li>";
  }

  /* ---- follow by the private link ---- */
  function tokenInHash() {
    var m = /(?:^#|&)m=([A-Za-z0-9_-]{32,128})/.exec(location.hash);
    return m ? m[1] : null;
  }
  function onHash() {
    var token = tokenInHash();
    state.following = token ? { token: token, data: null } : null;
    $("follow").hidden = !token;
    $("raise").hidden = !!token;
    if (token) { loadFollow(); window.scrollTo(0, 0); }
  }
  function pendingItem() {
    var f = state.following;
    return f && box.items().filter(function (i) { return i.body.token === f.token; })[0];
  }
  function renderFollowPending() {
    var item = pendingItem();
    if (!item || state.following.data) return;
    if (item.state === "acknowledged") { loadFollow(); return; }
    $("f-tracking").textContent = "";
    $("f-state").textContent = t(item.state); $("f-state").dataset.state = "submitted";
    $("f-category").textContent = catLabel(item.body.category);
    $("f-desc").textContent = item.body.description;
    $("f-timeline").innerHTML = '<li class="muted">' + esc(t("not_sent")) + "</li>";
    $("rate-form").hidden = $("notfixed-form").hidden = $("f-rated").hidden = true;
  }
  function loadFollow() {
    var f = state.following;
    if (!f) return;
    shell.show($("f-error"), null);
    var item = pendingItem();  // still in this phone's outbox: the server does not know it yet
    if (!online() || (item && item.state !== "acknowledged")) { renderFollowPending(); return; }
    shell.request("resident/matter", { headers: { "X-Matter-Token": f.token } }).then(function (res) {
      if (state.following !== f) return;
      if (res.status === 404 && pendingItem()) { renderFollowPending(); return; }
      if (!res.ok) { shell.show($("f-error"), shell.errorOf(res)); return; }
      f.data = res.body;
      renderFollow();
    }).catch(function (e) { shell.show($("f-error"), e); });
  }
  function renderFollow() {
    var f = state.following, m = f && f.data;
    if (!m) { renderFollowPending(); return; }
    var shown = m.state === "submitted" || m.state === "rejected" ? m.state :
      (m.incident_state || m.state);
    $("f-tracking").textContent = m.tracking;
    $("f-state").textContent = shell.label("states", shown);
    $("f-state").dataset.state = shown;
    $("f-category").textContent = catLabel(m.category) + (m.area_name ? " · " + m.area_name : "");
    $("f-desc").textContent = m.description;
    $("f-reason").hidden = !m.reason;
    $("f-reason").textContent = m.reason ? t("reason", { reason: m.reason }) : "";
    $("f-timeline").innerHTML = m.timeline.map(function (e) {
      return '<li data-action="' + esc(e.action) + '"><time>' + esc(shell.time(e.at)) +
        "</time>" + esc(shell.label("actions", e.action)) + "</li>";
    }).join("");
    $("f-link").textContent = t("saved_link") + " " + linkOf(f.token);
    $("rate-form").hidden = !m.can_rate;
    $("f-rated").hidden = !m.rating;
    $("f-rated").textContent = m.rating ? t("rated", { n: m.rating }) : "";
    $("notfixed-form").hidden = !m.can_say_not_fixed;
    if (m.not_fixed_until) {
      $("notfixed-label").textContent = t("not_fixed_label", { until: shell.time(m.not_fixed_until) });
    }
    renderStars();
  }
  function renderStars() {
    var html = "";
    for (var n = 1; n <= 5; n++) {
      html += '<button type="button" role="radio" data-n="' + n + '" aria-checked="' +
        (n <= state.stars) + '" aria-label="' + esc(t("star", { n: n })) + '">★</button>';
    }
    $("stars").innerHTML = html;
  }
  function post(path, body, button) {
    var f = state.following;
    shell.show($("f-error"), null);
    button.disabled = true;
    return shell.request(path, { method: "POST", body: body,
      headers: { "X-Matter-Token": f.token } }).then(function (res) {
      if (!res.ok) { shell.show($("f-error"), shell.errorOf(res)); return; }
      f.data = res.body; renderFollow();
    }).catch(function (e) { shell.show($("f-error"), e); })
      .then(function () { button.disabled = false; });
  }
  function submitRating(ev) {
    ev.preventDefault();
    if (!state.stars) { shell.show($("f-error"), { key: "need_rating" }); return; }
    post("resident/matter/rating", { rating: state.stars, comment: $("rate-comment").value.trim() },
      $("rate-submit"));
  }
  function submitNotFixed(ev) {
    ev.preventDefault();
    var note = $("notfixed-note").value.trim();
    if (!note) { shell.show($("f-error"), { key: "need_note" }); return; }
    post("resident/matter/not-fixed", { note: note }, $("notfixed-submit")).then(function () {
      $("notfixed-note").value = "";
    });
  }

  function renderNet() {
    $("net").dataset.state = online() ? "online" : "offline";
    $("net").textContent = t(online() ? "online" : "offline");
  }
  function redraw() { renderNet(); renderFix(); renderCategories(); renderQueue(); renderFollow(); }

  document.addEventListener("DOMContentLoaded", function () {
    $("matter-form").addEventListener("submit", submit);
    $("use-gps").addEventListener("click", useGps);
    $("community-q").addEventListener("input", searchCommunities);
    $("community-list").addEventListener("click", function (ev) {
      var b = ev.target.closest ? ev.target.closest("button") : null;
      if (b) chooseCommunity({ code: b.getAttribute("data-code"), name: b.getAttribute("data-name") });
    });
    $("community-clear").addEventListener("click", function () { chooseCommunity(null); });
    $("photo").addEventListener("change", function () {
      shell.renderPreviews("photo-previews", shell.pickedFiles("photo"));
    });
    $("clear-done").addEventListener("click", function () { box.clearDone(); });
    $("stars").addEventListener("click", function (ev) {
      var b = ev.target.closest ? ev.target.closest("button") : null;
      if (b) { state.stars = Number(b.getAttribute("data-n")); renderStars(); }
    });
    $("rate-form").addEventListener("submit", submitRating);
    $("notfixed-form").addEventListener("submit", submitNotFixed);
    $("f-refresh").addEventListener("click", loadFollow);
    $("f-new").addEventListener("click", function () { location.hash = ""; });
    window.addEventListener("hashchange", onHash);
    window.addEventListener("online", function () { renderNet(); box.flush(); loadCategories(); });
    window.addEventListener("offline", renderNet);
    setInterval(function () { renderNet(); box.flush(); }, RETRY_MS);
    shell.onLang(redraw);
    shell.start({ public: true, ready: function () {
      initMap(); loadCategories(); renderQueue(); renderNet(); onHash(); box.flush();
    } });
  });
})();
