/* gridgeo map pages: styles, popups, tooltips and search for the vector-tile layers.
   Plain ES5 on Leaflet 1.9 and Leaflet.VectorGrid 1.3 (both vendored next to this file). */
(function () {
  'use strict';
  // Leaflet 1.8 dropped L.DomEvent.fakeStop, which VectorGrid 1.3's canvas renderer calls.
  if (L.DomEvent && !L.DomEvent.fakeStop) { L.DomEvent.fakeStop = L.DomEvent.stop; }

  var COLOURS = {
    over: '#d73027', within: '#ffffbf', under: '#4575b4', unstaffed: '#969696', empty: '#ffffff'
  };
  var TEXT = {
    zh: {
      workers: '网格员', households: '户数', load: '户/人', deviation: '偏差',
      incidents: '未结事件', status: '状态', page: '网格详情', search: '按编码或名称搜索',
      none: '无结果',
      over: '超负荷', within: '达标', under: '低负荷', unstaffed: '无人员', empty: '无住户'
    },
    en: {
      workers: 'Workers', households: 'Households', load: 'Households per worker',
      deviation: 'Deviation', incidents: 'Open incidents', status: 'Status',
      page: 'Grid page', search: 'Search by code or name', none: 'No match',
      over: 'Over', within: 'Within', under: 'Under', unstaffed: 'Unstaffed', empty: 'Empty'
    }
  };

  function esc(s) {
    return String(s === null || s === undefined ? '' : s).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }

  function fmt(v, digits) {
    return (v === null || v === undefined) ? '–' : Number(v).toFixed(digits);
  }

  function gridStyle(props) {
    return {
      fill: true, fillColor: COLOURS[props.status] || '#cccccc', fillOpacity: 0.6,
      color: '#e6550d', weight: 1, opacity: 0.9, className: 'gridgeo-grid'
    };
  }

  function outlineStyle(level, colour, weight) {
    return function () {
      return {fill: false, color: colour, weight: weight, opacity: 0.9, className: 'gridgeo-' + level};
    };
  }

  function popupHtml(p, lang) {
    var t = TEXT[lang] || TEXT.zh;
    var dev = (p.deviation === null || p.deviation === undefined) ? '–'
      : (p.deviation > 0 ? '+' : '') + (100 * p.deviation).toFixed(1) + ' %';
    var rows = [
      [t.workers, p.workers], [t.households, p.households], [t.load, fmt(p.load, 1)],
      [t.deviation, dev], [t.status, t[p.status] || p.status], [t.incidents, p.open_incidents]
    ];
    var body = rows.map(function (r) {
      return '<tr><th>' + esc(r[0]) + '</th><td data-field="' + esc(r[0]) + '">' + esc(r[1]) + '</td></tr>';
    }).join('');
    return '<div class="gridgeo-popup"><b>' + esc(p.name) + '</b> <code>' + esc(p.code) + '</code>' +
      '<table>' + body + '</table>' +
      '<a href="/grids/' + encodeURIComponent(p.code) + '" target="_blank">' + esc(t.page) + '</a></div>';
  }

  function bindGrid(layer, map, lang) {
    var tip = null;
    layer.on('click', function (e) {
      L.popup().setLatLng(e.latlng).setContent(popupHtml(e.layer.properties, lang)).openOn(map);
    });
    layer.on('mouseover', function (e) {
      var p = e.layer.properties;
      tip = L.tooltip({sticky: true}).setLatLng(e.latlng)
        .setContent(esc(p.name) + ' <code>' + esc(p.code) + '</code>').addTo(map);
    });
    layer.on('mouseout', function () { if (tip) { map.removeLayer(tip); tip = null; } });
    layer.on('load', function () {
      if (!window.gridgeoDrawn) { window.gridgeoDrawn = performance.now(); }
    });
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
    COLOURS: COLOURS, TEXT: TEXT, gridStyle: gridStyle, outlineStyle: outlineStyle,
    popupHtml: popupHtml, bindGrid: bindGrid, searchControl: searchControl
  };
})();
