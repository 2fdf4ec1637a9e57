/* The desk's queue of residents' matters (居民来件 · 待受理): accept, merge or reject each.
 *
 * GET resident/queue lists the matters of the dispatcher's areas with the phone number for a
 * call back (the only place it is shown); POST resident/queue/{id}/decision decides one
 * (gridgeo/residents/decide.py: MATTER_RULES of gridgeo/incidents/policy.py say who may, from
 * which state). A matter with no position (the resident chose a community) needs the place
 * before it is accepted. Loaded by desk.js when the account is signed in.
 */
(function () {
  "use strict";

  var shell = window.gridgeoShell, $ = shell.$, t = shell.t, esc = shell.esc;
  var st = { rows: [], blobs: [] };

  shell.strings({
    zh: { r_title: "居民来件 · 待受理", r_refresh: "刷新", r_accept: "受理", r_merge: "合并到",
      r_reject: "不予受理", r_reason: "原因(居民可见)", r_none: "暂无待受理的居民来件",
      r_phone: "回访电话", r_no_phone: "未留电话", r_community: "仅选择了社区:请标出位置",
      r_lon: "经度", r_lat: "纬度", r_incident: "事件编号", r_done: "已处理居民来件 {tracking}",
      r_need_reason: "请填写不予受理的原因", r_need_incident: "请填写要合并到的事件编号" },
    en: { r_title: "Residents' matters awaiting acceptance", r_refresh: "Refresh",
      r_accept: "Accept", r_merge: "Merge into", r_reject: "Reject",
      r_reason: "reason (the resident reads it)", r_none: "no matters waiting",
      r_phone: "call back", r_no_phone: "no phone given",
      r_community: "only a community was given: mark the place", r_lon: "longitude",
      r_lat: "latitude", r_incident: "incident #", r_done: "matter {tracking} decided",
      r_need_reason: "say why it is not accepted", r_need_incident: "give the incident to merge into" }
  });

  function catLabel(key) {
    var c = (st.categories || []).filter(function (x) { return x.key === key; })[0];
    return c ? (shell.lang === "en" ? c.label_en : c.label_zh) : key;
  }
  function load() {
    var desk = shell.me && (shell.me.role === "dispatcher" || shell.me.role === "admin");
    $("residents-pane").hidden = !desk;
    if (!desk) return Promise.resolve();
    shell.show($("r-error"), null);
    return Promise.all([shell.api("resident/queue"), st.categories ? st.categories :
      shell.api("resident/categories")]).then(function (r) {
      st.rows = r[0].matters; st.categories = r[1]; render();
    }).catch(function (e) { shell.show($("r-error"), e); });
  }
  function render() {
    st.blobs.forEach(function (u) { URL.revokeObjectURL(u); });
    st.blobs = [];
    $("r-count").textContent = String(st.rows.length);
    var ul = $("r-list");
    if (!st.rows.length) { ul.innerHTML = '<li class="muted">' + esc(t("r_none")) + "</li>"; return; }
    ul.innerHTML = st.rows.map(function (m) {
      var where = m.lon === null ? '<span class="late">' + esc(t("r_community")) + "</span>" +
        '<input class="r-lon" inputmode="decimal" placeholder="' + esc(t("r_lon")) + '">' +
        '<input class="r-lat" inputmode="decimal" placeholder="' + esc(t("r_lat")) + '">' : "";
      var near = m.nearby.map(function (i) { return '<option value="' + i + '">#' + i + "</option>"; });
      return '<li data-id="' + m.id + '" data-tracking="' + esc(m.tracking) + '"><div class="r-head">' +
        "<strong>" + esc(m.tracking) + "</strong><span>" + esc(shell.time(m.submitted_at, { year: false })) +
        " " + esc(t("shell.tz")) + "</span><span>" + esc(catLabel(m.category)) + "</span><span>" + esc(m.area_name || m.area_code) + "</span>" +
        "<span>" + (m.phone ? esc(t("r_phone")) + ' <a href="tel:' + esc(m.phone) + '">' + esc(m.phone) +
          "</a>" : esc(t("r_no_phone"))) + '</span></div><div class="r-desc">' + esc(m.description) +
        '</div><div class="r-photos"></div><div class="r-acts">' + where +
        '<button type="button" class="primary" data-act="accept">' + esc(t("r_accept")) + "</button>" +
        '<button type="button" data-act="merge">' + esc(t("r_merge")) + "</button>" +
        '<input class="r-incident" list="r-near-' + m.id + '" inputmode="numeric" placeholder="' +
        esc(t("r_incident")) + '"><datalist id="r-near-' + m.id + '">' + near.join("") +
        "</datalist>" + '<button type="button" data-act="reject">' + esc(t("r_reject")) + "</button>" +
        '<textarea class="r-reason" rows="1" maxlength="4000" placeholder="' + esc(t("r_reason")) +
        '"></textarea></div></li>';
    }).join("");
    st.rows.forEach(function (m) {
      var box = ul.querySelector('li[data-id="' + m.id + '"] .r-photos');
      m.photos.forEach(function (p) {
        var img = shell.el("img", { alt: "photo " + p.id });
        box.appendChild(img);
        shell.send(p.url.replace(/^\//, "") + "?size=thumb").then(function (r) {
          return r.ok ? r.blob() : null;
        }).then(function (b) {
          if (!b) return;
          var u = URL.createObjectURL(b); st.blobs.push(u); img.src = u;
        }).catch(function () {});
      });
    });
  }
  function decide(ev) {
    var b = ev.target.closest ? ev.target.closest("button[data-act]") : null;
    if (!b) return;
    var li = b.closest("li"), act = b.getAttribute("data-act"), body = { action: act };
    if (act === "reject") {
      body.reason = li.querySelector(".r-reason").value.trim();
      if (!body.reason) { shell.show($("r-error"), { key: "r_need_reason" }); return; }
    } else if (act === "merge") {
      body.incident = Number(li.querySelector(".r-incident").value);
      if (!body.incident) { shell.show($("r-error"), { key: "r_need_incident" }); return; }
    } else if (li.querySelector(".r-lon")) {
      body.lon = Number(li.querySelector(".r-lon").value);
      body.lat = Number(li.querySelector(".r-lat").value);
    }
    b.disabled = true;
    shell.api("resident/queue/" + li.getAttribute("data-id") + "/decision",
      { method: "POST", body: body }).then(function () {
      shell.say({ key: "r_done", vars: { tracking: li.getAttribute("data-tracking") } }, "ok");
      if (shell.deskReload) shell.deskReload();  // an accepted matter is an incident now
      return load();
    }).catch(function (e) { shell.show($("r-error"), e); b.disabled = false; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("r-list").addEventListener("click", decide);
    $("r-refresh").addEventListener("click", load);
    shell.onLang(function () { if (st.rows) render(); });
  });
  shell.deskResidents = { load: load };
})();
