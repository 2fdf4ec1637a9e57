/* The volunteers' page (党员领单): the requests open to my community on a list and a map; claim
 * one, report it done. GET volunteer/requests, POST volunteer/requests/{id}/{claim |
 * volunteer_done} (gridgeo/residents/volunteers.py; VOLUNTEER_RULES of the policy). */
(function () {
  "use strict";

  var shell = window.gridgeoShell, $ = shell.$, t = shell.t, esc = shell.esc;
  var st = { rows: [], map: null, layer: null };

  shell.strings({
    zh: { v_title: "党员领单", v_open: "可认领的服务需求", v_refresh: "刷新", v_claim: "认领",
      v_done: "已办完", v_note: "办理情况", v_mine: "我已认领", v_none: "暂无可认领的需求",
      v_need_note: "请填写办理情况", v_claimed: "已认领 #{id}", v_finished: "已办完 #{id}" },
    en: { v_title: "Volunteers", v_open: "Requests open to volunteers", v_refresh: "Refresh",
      v_claim: "Claim", v_done: "Done", v_note: "what was done", v_mine: "claimed by me",
      v_none: "no open requests", v_need_note: "say what was done", v_claimed: "claimed #{id}",
      v_finished: "done #{id}" }
  });

  function label(r) { return shell.lang === "en" ? r.label_en : r.label_zh; }
  function load() {
    shell.show($("v-error"), null);
    shell.api("volunteer/requests").then(function (b) { st.rows = b.requests; render(); })
      .catch(function (e) { shell.show($("v-error"), e); });
  }
  function render() {
    $("v-list").innerHTML = st.rows.length ? st.rows.map(function (r) {
      var mine = r.volunteer === (shell.me && shell.me.name);
      return '<li data-id="' + r.id + '"><span class="id">#' + r.id + "</span><span>" +
        esc(label(r)) + "</span><span>" + esc(r.grid_name) + '</span><span class="muted">' +
        esc(shell.time(r.reported_at, { year: false })) + " " + esc(t("shell.tz")) + "</span>" +
        '<span class="desc">' + esc(r.description) + "</span>" + (mine ?
          '<span class="badge">' + esc(t("v_mine")) + '</span><textarea class="v-note" rows="2" ' +
          'placeholder="' + esc(t("v_note")) + '"></textarea><button type="button" ' +
          'class="primary" data-act="volunteer_done">' + esc(t("v_done")) + "</button>" :
          '<button type="button" class="primary" data-act="claim">' + esc(t("v_claim")) +
          "</button>") + "</li>";
    }).join("") : '<li class="muted">' + esc(t("v_none")) + "</li>";
    if (!st.map && typeof L !== "undefined") {
      st.map = L.map("map", { attributionControl: false }).setView([36.7, 119.1], 13);
    }
    if (!st.map) return;
    if (st.layer) st.layer.remove();
    st.layer = L.layerGroup(st.rows.map(function (r) {
      return L.circleMarker([r.lat, r.lon], { radius: 9, color: r.volunteer ? "#2e7d32" : "#b71c1c" })
        .bindTooltip("#" + r.id + " " + label(r));
    })).addTo(st.map);
    if (st.rows.length) {
      st.map.fitBounds(L.latLngBounds(st.rows.map(function (r) { return [r.lat, r.lon]; })),
        { padding: [20, 20], maxZoom: 17 });
    }
  }
  function act(ev) {
    var b = ev.target.closest ? ev.target.closest("button[data-act]") : null;
    if (!b) return;
    var li = b.closest("li"), id = li.getAttribute("data-id"), action = b.getAttribute("data-act");
    var note = li.querySelector(".v-note") ? li.querySelector(".v-note").value.trim() : "";
    if (action === "volunteer_done" && !note) { shell.show($("v-error"), { key: "v_need_note" }); return; }
    b.disabled = true;
    shell.api("volunteer/requests/" + id + "/" + action, { method: "POST", body: { note: note } })
      .then(function () {
        shell.say({ key: action === "claim" ? "v_claimed" : "v_finished", vars: { id: id } }, "ok");
        load();
      }).catch(function (e) { shell.show($("v-error"), e); b.disabled = false; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("v-list").addEventListener("click", act);
    $("v-refresh").addEventListener("click", load);
    shell.onLang(function () { if (shell.me) render(); });
    shell.start({ ready: load });
  });
})();
