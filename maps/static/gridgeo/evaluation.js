/* gridgeo evaluation map: the areas of one level coloured by one figure of GET /evaluation.
   Plain ES5 on gridmap.js (gridgeo.levelTiles). Embedded in /dashboard, the figures are the
   dashboard's (no second request), and a click on an area asks the page around it to drill into
   that area (postMessage); alone, the popup links there. */
(function () {
  'use strict';

  var TEXT = {
    zh: {grade: '等级', score: '综合得分', closure_rate: '结案率', on_time_rate: '按期结案率',
         satisfied_share: '满意率', in_grid_rate: '小事不出网格率', overdue_now: '当前超期',
         due: '应结案数', drill: '下钻查看', none: '无数据'},
    en: {grade: 'Grade', score: 'Score', closure_rate: 'Closure', on_time_rate: 'On time',
         satisfied_share: 'Rated 4–5', in_grid_rate: 'Settled in the grid',
         overdue_now: 'Overdue now', due: 'Due to close', drill: 'Drill down', none: 'no data'}
  };
  var SHOWN = ['grade', 'score', 'closure_rate', 'on_time_rate', 'satisfied_share', 'in_grid_rate',
               'due', 'overdue_now'];

  function show(key, v) {
    if (v === null || v === undefined) { return '–'; }
    if (/_rate$|_share$/.test(key)) { return (100 * v).toFixed(1) + ' %'; }
    if (key === 'score' || key === 'mean_rating') { return Number(v).toFixed(1); }
    return String(v);
  }

  function colourOf(cfg, v) {
    if (v === null || v === undefined) { return cfg.noData; }
    var k = 0;
    while (k < cfg.breaks.length && v >= cfg.breaks[k]) { k += 1; }
    return cfg.colours[k];
  }

  function embedded() {
    try { return window.parent !== window; } catch (e) { return true; }
  }

  // The figures of cfg.dataUrl: embedded in /dashboard, the dashboard's own request for the same
  // table (window.parent.gridgeoEvaluationShared) — the same statement is not run twice.
  function figuresOf(url) {
    if (embedded()) {
      try {
        var shared = window.parent.gridgeoEvaluationShared;
        var found = shared && shared(url);
        if (found) { return found; }
      } catch (e) { /* another origin: ask the server */ }
    }
    return fetch(url, {credentials: 'same-origin'}).then(function (r) { return r.json(); });
  }

  // The tiles are asked for at once, with the figures (not after them): areas are painted "no
  // data" until the figures come, then repainted from the kept tiles (no refetch).
  function evaluationMap(map, cfg) {
    var g = window.gridgeo, t = TEXT[cfg.lang] || TEXT.zh;
    var rows = {};
    var inside = function (p) { return p.code.indexOf(cfg.parent) === 0; };
    var fill = function (p) {
      if (!inside(p)) {
        return {fill: true, fillColor: '#f0f0f0', fillOpacity: 0.4, color: '#bbbbbb', weight: 0.5};
      }
      var r = rows[p.code];
      return {fill: true, fillColor: colourOf(cfg, r ? r[cfg.figure] : null), fillOpacity: 0.75,
              color: '#555555', weight: 1, opacity: 0.9, className: 'gridgeo-grid'};
    };
    var popup = function (p) {
      var r = rows[p.code];
      if (!r) { return '<b>' + g.esc(p.name) + '</b> <code>' + g.esc(p.code) + '</code><br>' + t.none; }
      var body = SHOWN.map(function (k) {
        return '<tr><th>' + g.esc(t[k]) + '</th><td data-field="' + k + '">' + g.esc(show(k, r[k])) + '</td></tr>';
      }).join('');
      var link = embedded() ? '' : '<p><a href="/dashboard?area=' + encodeURIComponent(p.code) +
        (cfg.lang === 'en' ? '&lang=en' : '') + '">' + g.esc(t.drill) + '</a></p>';
      return '<div class="gridgeo-popup"><b>' + g.esc(p.name) + '</b> <code>' + g.esc(p.code) +
        '</code><table>' + body + '</table>' + link + '</div>';
    };
    var layer = g.levelTiles(map, cfg.tileUrl, cfg.levels, {lang: cfg.lang, fill: fill, popup: popup, hide: cfg.hide});
    layer.on('click', function (e) {
      var p = e.layer.properties;
      if (!p || !rows[p.code] || !embedded()) { return; }
      window.parent.postMessage({type: 'gridgeo-drill', code: p.code, name: p.name}, window.location.origin);
    });
    return figuresOf(cfg.dataUrl).then(function (data) {
      (data.rows || []).forEach(function (r) { rows[r.key] = r; });
      layer.restyle();
      window.gridgeoEvaluation = data;
      return layer;
    });
  }

  window.gridgeo.evaluationMap = evaluationMap;
})();
