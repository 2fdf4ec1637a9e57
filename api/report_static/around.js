/* The phone map's surroundings: the worker's own grids (highlighted), the outlines and names of
 * the grids around them (thin, neutral) and the roads and rivers, from GET /report/surroundings.
 *
 * The page has no internet base map (it must work offline), so these are what a worker orients
 * by. The view (padded by half) and the zoom are sent; the server answers only what lies in
 * that box, simplified for the zoom, and only outlines and names of other grids within its
 * neighbour radius (gridgeo/surroundings.py). Panning inside the box already fetched or
 * re-zooming by less than a level asks nothing new; the last answer is kept on the phone (per
 * account) so an offline start still has its streets.
 *
 * Names are drawn where they fit: a neighbour's name is shown when its whole box lies inside
 * the grid's outline and inside the map at the current view and covers neither a name already
 * placed nor the pin; the worker's own grids are named first, inside the map and clear of the
 * pin, even where the name overhangs the outline.
 * Plain ES5 on Leaflet 1.9; classes on the drawn paths (gg-own, gg-nb, gg-road, gg-river,
 * gg-rail) and labels (gg-label) let a test count what is drawn.
 */
(function () {
  "use strict";

  var KEY = "gridgeo.report.around";
  var MAX_SPAN = 0.5;  // gridgeo.surroundings.MAX_SPAN_DEG
  var LINE = {
    road: { className: "gg-line gg-road", color: "#8a8a8a", weight: 2, opacity: 0.9 },
    river: { className: "gg-line gg-river", color: "#4a90c8", weight: 3, opacity: 0.9 },
    rail: { className: "gg-line gg-rail", color: "#555", weight: 2, dashArray: "5 4" }
  };
  var NEIGHBOUR = { className: "gg-nb", color: "#607d8b", weight: 1, opacity: 0.9, fill: false };
  var OWN = { className: "gg-own", color: "#b71c1c", weight: 2, fillColor: "#b71c1c",
    fillOpacity: 0.08 };

  // Even-odd point in polygon over every ring of a GeoJSON (Multi)Polygon, in degrees.
  function inside(geometry, lon, lat) {
    var polys = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
    var hit = false;
    for (var p = 0; p < polys.length; p++) {
      for (var r = 0; r < polys[p].length; r++) {
        var c = polys[p][r];
        for (var i = 0, j = c.length - 1; i < c.length; j = i++) {
          if ((c[i][1] > lat) !== (c[j][1] > lat) &&
              lon < (c[j][0] - c[i][0]) * (lat - c[i][1]) / (c[j][1] - c[i][1]) + c[i][0]) {
            hit = !hit;
          }
        }
      }
    }
    return hit;
  }

  function create(map, options) {
    var shell = options.shell, esc = shell.esc;
    var panes = { lines: "gg-lines", labels: "gg-labels" };
    map.createPane(panes.lines).style.zIndex = 350;  // under the grids (overlayPane, 400)
    var labelPane = map.createPane(panes.labels);
    labelPane.style.zIndex = 450;
    labelPane.style.pointerEvents = "none";
    var st = { layer: null, labels: [], have: null, seq: 0, timer: null };

    function cached() {
      try {
        var c = JSON.parse(localStorage.getItem(KEY) || "null");
        return c && c.user === options.user() ? c : null;
      } catch (e) { return null; }
    }

    function draw(body) {
      if (st.layer) st.layer.remove();
      var group = L.layerGroup(), own = [], others = [];
      body.grids.features.forEach(function (f) { (f.properties.own ? own : others).push(f); });
      L.geoJSON(body.lines, { pane: panes.lines, interactive: false, style: function (f) {
        return LINE[f.properties.kind] || LINE.road; } }).addTo(group);
      L.geoJSON({ type: "FeatureCollection", features: others },
        { interactive: false, style: NEIGHBOUR }).addTo(group);
      L.geoJSON({ type: "FeatureCollection", features: own },
        { interactive: false, style: OWN }).addTo(group);
      st.labels = own.concat(others).map(function (f) {
        var p = f.properties;
        var marker = L.marker([p.label[1], p.label[0]], { pane: panes.labels, interactive: false,
          keyboard: false, icon: L.divIcon({ className: "gg-label" + (p.own ? " gg-label-own" : ""),
            html: "<span>" + esc(p.name) + "</span>", iconSize: [0, 0] }) });
        marker.addTo(group);
        return { marker: marker, feature: f };
      });
      st.layer = group.addTo(map);
      fit();
    }

    // The boxes (map pixels) of the markers no name may cover (options.keepClear: the pin).
    function clearOf() {
      var m = map.getContainer().getBoundingClientRect();
      return (options.keepClear || []).filter(function (marker) {
        return marker && map.hasLayer(marker) && marker.getElement();
      }).map(function (marker) {
        var r = marker.getElement().getBoundingClientRect();
        return [r.left - m.left, r.top - m.top, r.right - m.left, r.bottom - m.top];
      });
    }

    // Show a name only where its box lies inside the map, clear of the names placed before and
    // of what the page must keep visible (the pin); a neighbour's also inside its outline. A
    // name that does not fit at its grid's widest spot tries one and two lines above and below.
    function fit() {
      var size = map.getSize(), placed = clearOf();
      function clear(box) {
        return box[0] >= 0 && box[1] >= 0 && box[2] <= size.x && box[3] <= size.y &&
          placed.every(function (b) {
            return box[2] < b[0] || box[0] > b[2] || box[3] < b[1] || box[1] > b[3];
          });
      }
      function within(feature, box) {
        return [[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]]]
          .every(function (pt) {
            var ll = map.containerPointToLatLng(pt);
            return inside(feature.geometry, ll.lng, ll.lat);
          });
      }
      st.labels.forEach(function (l) {
        var el = l.marker.getElement(), span = el && el.firstChild;
        if (!span) return;
        span.style.visibility = "hidden";
        el.classList.remove("gg-hidden");
        var w = span.offsetWidth, h = span.offsetHeight, step = h + 6, shown = null;
        var c = map.latLngToContainerPoint(l.marker.getLatLng());
        [0, step, -step, 2 * step, -2 * step].some(function (dy) {
          var box = [c.x - w / 2 - 2, c.y + dy - h / 2 - 1, c.x + w / 2 + 2, c.y + dy + h / 2 + 1];
          if (clear(box) && (l.feature.properties.own || within(l.feature, box))) {
            shown = { box: box, dy: dy };
          }
          return shown !== null;
        });
        if (shown) { placed.push(shown.box); span.style.marginTop = shown.dy + "px"; }
        el.classList.toggle("gg-hidden", !shown);
        span.style.visibility = "";
      });
    }

    function load() {
      if (!options.online() || !options.token()) return;
      var z = map.getZoom(), view = map.getBounds();
      if (st.have && Math.abs(st.have.z - z) < 1 && st.have.bounds.contains(view)) return;
      var b = view.pad(0.5);
      if (b.getEast() - b.getWest() > MAX_SPAN || b.getNorth() - b.getSouth() > MAX_SPAN) b = view;
      var box = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) {
        return v.toFixed(5);
      }).join(",");
      var seq = ++st.seq;
      shell.request("report/surroundings?bbox=" + box + "&z=" + Math.round(z)).then(function (res) {
        if (seq !== st.seq || !res.ok) return;
        st.have = { z: z, bounds: b };
        draw(res.body);
        try {
          localStorage.setItem(KEY, JSON.stringify({ user: options.user(), body: res.body }));
        } catch (e) { /* a full storage only loses the offline copy */ }
      }).catch(options.onError);
    }

    function schedule() {
      clearTimeout(st.timer);
      st.timer = setTimeout(load, 250);
    }

    map.on("zoomend moveend", fit);  // a name cut by the map's edge is not shown
    map.on("moveend", schedule);
    var kept = cached();
    if (kept) draw(kept.body);
    return {
      load: schedule,
      fit: fit,
      // what is drawn, for tests: features by class and the labels shown
      drawn: function () {
        var root = map.getContainer();
        function n(sel) { return root.querySelectorAll(sel).length; }
        return { own: n("path.gg-own"), neighbours: n("path.gg-nb"), roads: n("path.gg-road"),
          rivers: n("path.gg-river"), labels: n(".gg-label:not(.gg-hidden)") };
      }
    };
  }

  window.gridgeoAround = { create: create, inside: inside };
})();
