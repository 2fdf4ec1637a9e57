/* gridgeo map pages: styles, popups, tooltips, search, locate, base maps, the level layer.
   Plain ES5 on Leaflet 1.9 (vendored) and mvt.js (next to this file). */
(function () {
  'use strict';

  var COLOURS = {
    over: '#d73027', within: '#ffffbf', under: '#4575b4', unstaffed: '#969696', empty: '#ffffff'
  };
  var TEXT = {
    zh: {
      workers: '网格员', households: '户数', load: '户/人', deviation: '偏差',
      incidents: '未结事件', status: '状态', page: '详情', search: '按编码或名称搜索',
      none: '无结果', showIncidents: '查看事件', locate: '我的位置', locating: '正在定位…',
      noLocation: '无法定位', accuracy: '精度',
      over: '超负荷', within: '达标', under: '低负荷', unstaffed: '无人员', empty: '无住户'
    },
    en: {
      workers: 'Workers', households: 'Households', load: 'Households per worker',
      deviation: 'Deviation', incidents: 'Open incidents', status: 'Status',
      page: 'Details', search: 'Search by code or name', none: 'No match',
      showIncidents: 'Incidents', locate: 'Show my location', locating: 'Locating…',
      noLocation: 'Location unavailable', accuracy: 'accuracy',
      over: 'Over', within: 'Within', under: 'Under', unstaffed: 'Unstaffed', empty: 'Empty'
    }
  };

  function esc(s) {
    return String(s === null || s === undefined ? '' : s).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }

  // Numbers as people read them: thousands separated (31,799), a fixed number of decimals.
  function fmt(v, digits) {
    if (v === null || v === undefined || v === '') { return '–'; }
    var d = digits || 0;
    return Number(v).toLocaleString('en-US', {minimumFractionDigits: d, maximumFractionDigits: d});
  }

  // A deviation as a signed percentage; one that rounds to zero is 0.0 %, never -0.0 %.
  function percent(v) {
    if (v === null || v === undefined) { return '–'; }
    var p = Math.round(1000 * v) / 10;
    if (p === 0) { p = 0; }  // -0 → 0
    return (p > 0 ? '+' : '') + fmt(p, 1) + ' %';
  }

  function gridStyle(props) {
    return {
      fill: true, fillColor: COLOURS[props.status] || '#cccccc', fillOpacity: 0.6,
      color: '#e6550d', weight: 1, opacity: 0.9, className: 'gridgeo-grid'
    };
  }

  // Grids as light context under other data (incident map).
  function plainGrid() {
    return {fill: true, fillColor: '#ffffff', fillOpacity: 0.05, color: '#e6550d', weight: 1, opacity: 0.7};
  }

  function outlineStyle(level, colour, weight) {
    return {fill: false, color: colour, weight: weight, opacity: 0.9};
  }

  // Links between the pages; a standalone file (no server) sets gridgeo.linkBase to ''.
  var links = {base: ''};
  function incidentsHref(code, lang) {
    return links.base + '/maps/incidents?grid=' + encodeURIComponent(code) + (lang === 'en' ? '&lang=en' : '');
  }
  function pageHref(code, lang) {
    return links.base + '/maps/grids/' + encodeURIComponent(code) + (lang === 'en' ? '?lang=en' : '');
  }

  function popupHtml(p, lang) {
    var t = TEXT[lang] || TEXT.zh;
    var dev = percent(p.deviation);
    var rows = [
      [t.workers, fmt(p.workers)], [t.households, fmt(p.households)], [t.load, fmt(p.load, 1)],
      [t.deviation, dev], [t.status, t[p.status] || p.status]
    ];
    if (p.open_incidents !== undefined && p.open_incidents !== null) { rows.push([t.incidents, p.open_incidents]); }
    var body = rows.map(function (r) {
      return '<tr><th>' + esc(r[0]) + '</th><td data-field="' + esc(r[0]) + '">' + esc(r[1]) + '</td></tr>';
    }).join('');
    return '<div class="gridgeo-popup"><b>' + esc(p.name) + '</b> <code>' + esc(p.code) + '</code>' +
      '<table>' + body + '</table>' +
      (links.base === null ? '' : '<p class="gridgeo-links"><a class="gridgeo-incidents-link" href="' + esc(incidentsHref(p.code, lang)) + '">' +
      esc(t.showIncidents) + '</a> · <a class="gridgeo-page-link" href="' + esc(pageHref(p.code, lang)) + '">' +
      esc(t.page) + '</a></p>') + '</div>';
  }

  function bindGrid(layer, map, lang, leaf, popup) {
    var tip = null;
    var isLeaf = function (p) { return !leaf || p.level === leaf; };
    layer.on('click', function (e) {
      var p = e.layer.properties;
      if (!isLeaf(p)) { return; }
      L.popup().setLatLng(e.latlng).setContent((popup || popupHtml)(p, lang)).openOn(map);
    });
    layer.on('mouseover', function (e) {
      var p = e.layer.properties;
      if (!isLeaf(p)) { return; }
      if (tip) { map.removeLayer(tip); }
      tip = L.tooltip({sticky: true}).setLatLng(e.latlng)
        .setContent(esc(p.name) + ' <code>' + esc(p.code) + '</code>').addTo(map);
    });
    layer.on('mouseout', function () { if (tip) { map.removeLayer(tip); tip = null; } });
    layer.on('load', function () {
      if (!window.gridgeoDrawn) { window.gridgeoDrawn = performance.now(); }
    });
  }

  // Every level from one tile source (/tiles/{z}/{x}/{y}.pbf: an MVT layer per level), painted
  // on canvas by gridgeoMvt.MvtGrid (mvt.js) in 512-pixel tiles: one request per tile.
  function levelTiles(map, url, levels, opts) {
    opts = opts || {};
    var styles = {};
    var leaf = null;
    (opts.hide || []).forEach(function (key) { styles[key] = []; });  // levels left out
    levels.forEach(function (lv) {
      if (lv.leaf) { leaf = lv.key; }
      styles[lv.key] = lv.leaf ? (opts.fill || gridStyle) : outlineStyle(lv.key, lv.colour, lv.weight);
    });
    var layer = new gridgeoMvt.MvtGrid(url, {styles: styles, interactiveLayer: leaf});
    layer._gridgeoStyles = L.extend({}, styles);
    bindGrid(layer, map, opts.lang || 'zh', leaf, opts.popup);
    if (window.gridgeoExtras) { gridgeoExtras.attach(layer, map, leaf); }  // selection, names
    // Added once the page's script (which ends with fitBounds) has run: tiles are asked for
    // the final view only, not also for the provisional one the map was created with.
    // Should a zoom still be animating then, the layer waits for its end (added mid-zoom it
    // asked for the tiles of both zooms, and at times never fired 'load').
    setTimeout(function () {
      if (map._animatingZoom) { map.once('zoomend', function () { layer.addTo(map); }); } else { layer.addTo(map); }
    }, 0);
    return layer;
  }

  // A layer-control entry that shows or hides one level of a levelTiles layer.
  var LevelToggle = L.Layer.extend({
    initialize: function (grid, key) { this._grid = grid; this._key = key; },
    onAdd: function () { this._set(this._grid._gridgeoStyles[this._key]); },
    onRemove: function () { this._set([]); },
    _set: function (style) {
      var styles = this._grid.options.styles;
      if (styles[this._key] === style) { return; }
      styles[this._key] = style;
      this._grid.restyle();
    }
  });

  function levelToggle(grid, key) { return new LevelToggle(grid, key); }

  // Features drawn per level (for tests and the benchmark).
  function drawnFeatures(grid) { return grid.drawnFeatures(); }

  // --- GCJ-02 (AMap tiles): the published WGS84 -> GCJ-02 forward transform (gridgeo/coords.py).
  var A = 6378245.0, EE = 0.00669342162296594323;
  function outOfChina(lon, lat) { return !(lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271); }
  function dLat(x, y) {
    var r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin(y / 3.0 * Math.PI)) * 2.0 / 3.0;
    r += (160.0 * Math.sin(y / 12.0 * Math.PI) + 320.0 * Math.sin(y * Math.PI / 30.0)) * 2.0 / 3.0;
    return r;
  }
  function dLon(x, y) {
    var r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin(x / 3.0 * Math.PI)) * 2.0 / 3.0;
    r += (150.0 * Math.sin(x / 12.0 * Math.PI) + 300.0 * Math.sin(x / 30.0 * Math.PI)) * 2.0 / 3.0;
    return r;
  }
  function wgs2gcj(lon, lat) {
    if (outOfChina(lon, lat)) { return [lon, lat]; }
    var dlat = dLat(lon - 105.0, lat - 35.0), dlon = dLon(lon - 105.0, lat - 35.0);
    var rad = lat / 180.0 * Math.PI, magic = 1 - EE * Math.sin(rad) * Math.sin(rad), sq = Math.sqrt(magic);
    dlat = (dlat * 180.0) / ((A * (1 - EE)) / (magic * sq) * Math.PI);
    dlon = (dlon * 180.0) / (A / sq * Math.cos(rad) * Math.PI);
    return [lon + dlon, lat + dlat];
  }

  // A tile layer in GCJ-02 shifted so that it lines up with WGS84 data: a GCJ tile draws the
  // place whose true (WGS84) position is w at the pixel of gcj(w); the layer is moved back by
  // that offset, taken at the centre of the view (it varies by < 1 m across a city view).
  var GcjTileLayer = L.TileLayer.extend({
    onAdd: function (map) {
      L.TileLayer.prototype.onAdd.call(this, map);
      map.on('moveend zoomend viewreset', this._shift, this);
      this._shift();
    },
    onRemove: function (map) {
      map.off('moveend zoomend viewreset', this._shift, this);
      this._container.style.transform = '';
      L.TileLayer.prototype.onRemove.call(this, map);
    },
    gcjOffset: function () {
      var map = this._map, c = map.getCenter(), g = wgs2gcj(c.lng, c.lat), z = map.getZoom();
      return map.project(c, z).subtract(map.project(L.latLng(g[1], g[0]), z));
    },
    _shift: function () {
      if (!this._map || !this._container) { return; }
      var d = this.gcjOffset();
      this._gcjShift = d;
      this._container.style.transform = 'translate(' + Math.round(d.x) + 'px,' + Math.round(d.y) + 'px)';
      this._update();
    },
    _getTiledPixelBounds: function (center) {
      var b = L.TileLayer.prototype._getTiledPixelBounds.call(this, center), d = this._gcjShift;
      return d ? L.bounds(b.min.subtract(d), b.max.subtract(d)) : b;
    }
  });

  function baseTiles(spec) {
    var group = L.layerGroup();
    spec.layers.forEach(function (pair) {
      var opts = {attribution: pair[1], subdomains: spec.subdomains, maxZoom: 19,
        maxNativeZoom: spec.maxZoom, className: 'gridgeo-base-' + spec.key};
      group.addLayer(spec.gcj02 ? new GcjTileLayer(pair[0], opts) : L.tileLayer(pair[0], opts));
    });
    return group;
  }

  // The choropleth of one level: figures fetched once, joined to the tiles' features by code.
  function workloadMap(map, cfg) {
    var t = TEXT[cfg.lang] || TEXT.zh;
    return fetch(cfg.dataUrl, {credentials: 'same-origin'})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var rows = data.areas || {};
        var figures = function (p) {
          var r = rows[p.code] || [];
          return {code: p.code, name: p.name, level: p.level, status: r[0], load: r[1],
                  deviation: r[2], households: r[3], workers: r[4], open_incidents: r[5]};
        };
        var fill = function (p) { return gridStyle(figures(p)); };
        var popup = function (p, lang) { return popupHtml(figures(p), lang); };
        window.gridgeoWorkload = data;
        return levelTiles(map, cfg.tileUrl, cfg.levels, {lang: cfg.lang, fill: fill, popup: popup, hide: cfg.hide});
      });
  }

  // "Locate me": the browser's position with its accuracy circle.
  function locateControl(map, lang) {
    var t = TEXT[lang] || TEXT.zh;
    var mark = L.layerGroup().addTo(map);
    var Locate = L.Control.extend({
      onAdd: function () {
        var box = L.DomUtil.create('div', 'gridgeo-locate leaflet-bar');
        var a = L.DomUtil.create('a', '', box);
        a.href = '#';
        a.title = t.locate;
        a.setAttribute('role', 'button');
        a.setAttribute('aria-label', t.locate);
        // a crosshair drawn inline: no icon font, no image request
        a.innerHTML = '<svg width="18" height="18" viewBox="0 0 18 18" aria-hidden="true" ' +
          'style="vertical-align:middle"><circle cx="9" cy="9" r="5" fill="none" stroke="#333" ' +
          'stroke-width="2"/><circle cx="9" cy="9" r="1.8" fill="#333"/><path d="M9 0v4M9 14v4M0 9h4M14 9h4" ' +
          'stroke="#333" stroke-width="2"/></svg>';
        var note = L.DomUtil.create('span', 'gridgeo-locate-note', box);
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.on(a, 'click', function (e) {
          L.DomEvent.preventDefault(e);
          if (!navigator.geolocation) { note.textContent = t.noLocation; return; }
          note.textContent = t.locating;
          navigator.geolocation.getCurrentPosition(function (pos) {
            var ll = L.latLng(pos.coords.latitude, pos.coords.longitude), acc = pos.coords.accuracy;
            mark.clearLayers();
            var circle = L.circle(ll, {radius: acc, className: 'gridgeo-accuracy', weight: 1,
              color: '#136aec', fillOpacity: 0.15}).addTo(mark);
            L.circleMarker(ll, {radius: 6, className: 'gridgeo-me', color: '#fff', weight: 2,
              fillColor: '#136aec', fillOpacity: 1}).addTo(mark)
              .bindTooltip(t.accuracy + ' ±' + Math.round(acc) + ' m');
            map.fitBounds(circle.getBounds(), {maxZoom: 17});
            note.textContent = '±' + Math.round(acc) + ' m';
            window.gridgeoLocated = {lat: ll.lat, lng: ll.lng, accuracy: acc};
          }, function (err) {
            note.textContent = t.noLocation + (err && err.message ? ': ' + err.message : '');
          }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
        });
        return box;
      }
    });
    return new Locate({position: 'topleft'}).addTo(map);
  }

  function searchControl(map, url, lang) {
    var t = TEXT[lang] || TEXT.zh;
    var Search = L.Control.extend({
      onAdd: function () {
        var box = L.DomUtil.create('div', 'gridgeo-search leaflet-bar');
        var input = L.DomUtil.create('input', '', box);
        input.type = 'search';
        input.placeholder = t.search;
        var list = L.DomUtil.create('ul', '', box);
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        var timer = null;
        function show(items) {
          list.innerHTML = '';
          if (!items.length) { list.innerHTML = '<li class="none">' + esc(t.none) + '</li>'; return; }
          items.forEach(function (it) {
            var li = L.DomUtil.create('li', '', list);
            li.innerHTML = esc(it.name) + ' <code>' + esc(it.code) + '</code>';
            L.DomEvent.on(li, 'click', function () {
              var b = it.bbox;
              map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
              list.innerHTML = '';
            });
          });
        }
        function run() {
          var q = input.value.trim();
          if (!q) { list.innerHTML = ''; return; }
          fetch(url + '?q=' + encodeURIComponent(q), {credentials: 'same-origin'})
            .then(function (r) { return r.ok ? r.json() : []; })
            .then(show);
        }
        L.DomEvent.on(input, 'input', function () { clearTimeout(timer); timer = setTimeout(run, 250); });
        L.DomEvent.on(input, 'keydown', function (e) {
          if (e.key === 'Enter' && list.firstChild && list.firstChild.className !== 'none') {
            list.firstChild.click();
          }
        });
        return box;
      }
    });
    return new Search({position: 'topright'}).addTo(map);
  }

  window.gridgeo = {
    COLOURS: COLOURS, TEXT: TEXT, gridStyle: gridStyle, outlineStyle: outlineStyle, plainGrid: plainGrid,
    popupHtml: popupHtml, bindGrid: bindGrid, searchControl: searchControl, esc: esc, fmt: fmt,
    links: links, levelTiles: levelTiles, levelToggle: levelToggle, drawnFeatures: drawnFeatures,
    wgs2gcj: wgs2gcj, workloadMap: workloadMap, baseTiles: baseTiles, locateControl: locateControl,
    incidentsHref: incidentsHref, pageHref: pageHref
  };
})();
