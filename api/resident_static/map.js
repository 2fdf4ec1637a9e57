/* The public map of residents' matters (GRIDGEO_PUBLIC_MAP_OF_MATTERS): accepted matters by
 * category and state from resident/map.geojson, which carries nothing that identifies anyone. */
(function () {
  "use strict";

  var shell = window.gridgeoShell, $ = shell.$, t = shell.t, esc = shell.esc;
  var COLORS = { accepted: "#f9a825", dispatched: "#ef6c00", in_progress: "#1565c0",
    resolved: "#2e7d32", verified: "#2e7d32", closed: "#607d8b", reported: "#c62828" };
  var st = { data: null, map: null, layer: null };

  shell.strings({
    zh: { m_title: "居民事项地图", m_intro: "已受理的居民事项，按类别和办理状态显示；位置精确到约 50 米，不显示任何个人信息。",
      states: { reported: "已上报", accepted: "已受理", dispatched: "已派遣", in_progress: "处置中",
        resolved: "已处置", verified: "已核查", closed: "已结案" }, m_count: "{n} 件" },
    en: { m_title: "Residents' matters", m_intro: "Accepted residents' matters by category and " +
      "state; places to about 50 m, nothing that identifies anyone.",
      states: { reported: "reported", accepted: "accepted", dispatched: "dispatched",
        in_progress: "in progress", resolved: "resolved", verified: "verified", closed: "closed" },
      m_count: "{n}" }
  });

  function label(p) { return shell.lang === "en" ? p.label_en : p.label_zh; }
  function render() {
    if (!st.data) return;
    if (!st.map) st.map = L.map("map", { attributionControl: false }).setView([36.7, 119.1], 13);
    if (st.layer) st.layer.remove();
    var feats = st.data.features;
    st.layer = L.layerGroup(feats.map(function (f) {
      var c = f.geometry.coordinates, p = f.properties;
      return L.circleMarker([c[1], c[0]], { radius: 8, color: COLORS[p.state] || "#555",
        fillOpacity: 0.7 }).bindTooltip(label(p) + " · " + shell.label("states", p.state));
    })).addTo(st.map);
    if (feats.length) {
      st.map.fitBounds(L.latLngBounds(feats.map(function (f) {
        return [f.geometry.coordinates[1], f.geometry.coordinates[0]];
      })), { padding: [20, 20], maxZoom: 16 });
    }
    var counts = {};
    feats.forEach(function (f) {
      var k = label(f.properties) + " · " + shell.label("states", f.properties.state);
      counts[k] = (counts[k] || 0) + 1;
    });
    $("legend").innerHTML = Object.keys(counts).sort().map(function (k) {
      return "<li><span>" + esc(k) + '</span><span class="muted">' +
        esc(t("m_count", { n: counts[k] })) + "</span></li>";
    }).join("");
  }
  document.addEventListener("DOMContentLoaded", function () {
    shell.onLang(render);
    shell.start({ public: true, ready: function () {
      shell.api("resident/map.geojson").then(function (d) { st.data = d; render(); })
        .catch(function (e) { shell.say(e, "error"); });
    } });
  });
})();
