/* gridgeo incident map: clusters and heat from /maps/incidents/data, filters, timelines.
   Plain ES5 on Leaflet 1.9, leaflet.markercluster 1.5.3 and leaflet.heat 0.2.0 (vendored). */
(function () {
  'use strict';
  var g = window.gridgeo;
  var STATE_COLOURS = {
    reported: '#fd8d3c', accepted: '#fecc5c', dispatched: '#9e9ac8', in_progress: '#6baed6',
    resolved: '#74c476', verified: '#31a354', closed: '#969696'
  };
  var TEXT = {
    zh: {
      state: '状态', category: '类别', grid: '网格/区域编码', from: '起始日期', to: '截止日期',
      overdue: '只看超期', apply: '筛选', clear: '清除', all: '全部', open: '未办结',
      count: '事件', overdueCount: '超期', truncated: '（仅显示最新部分）', loading: '加载中…',
      reported: '已上报', accepted: '已受理', dispatched: '已派遣', in_progress: '处置中',
      resolved: '已处置', verified: '已核查', closed: '已结案', reportedAt: '上报时间',
      acceptDue: '受理时限', resolveDue: '处置时限', timeline: '处理过程', isOverdue: '已超期',
      description: '描述', major: '重大', queue: '当前队列', failed: '无法加载',
      actions: {report: '上报', accept: '受理', dispatch: '派遣', start: '开始处置', resolve: '处置完成',
        verify: '核查', close: '结案', reopen: '重新受理', mark_major: '标为重大', escalate: '超时升级',
        regrid: '调整网格', photo: '补充照片'}
    },
    en: {
      state: 'State', category: 'Category', grid: 'Grid / area code', from: 'From', to: 'To',
      overdue: 'Overdue only', apply: 'Filter', clear: 'Clear', all: 'All', open: 'Open',
      count: 'incidents', overdueCount: 'overdue', truncated: ' (newest only)', loading: 'Loading…',
      reported: 'Reported', accepted: 'Accepted', dispatched: 'Dispatched', in_progress: 'In progress',
      resolved: 'Resolved', verified: 'Verified', closed: 'Closed', reportedAt: 'Reported',
      acceptDue: 'Accept by', resolveDue: 'Resolve by', timeline: 'Timeline', isOverdue: 'Overdue',
      description: 'Description', major: 'Major', queue: 'Queue', failed: 'Could not load',
      actions: {report: 'reported', accept: 'accepted', dispatch: 'dispatched', start: 'started',
        resolve: 'resolved', verify: 'verified', close: 'closed', reopen: 'reopened',
        mark_major: 'marked major', escalate: 'escalated', regrid: 'moved to grid',
        photo: 'photos added'}
    }
  };
  var STATES = ['reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'verified', 'closed'];

  function clusters() {
    return L.markerClusterGroup({
      chunkedLoading: true, maxClusterRadius: 50, showCoverageOnHover: false,
      iconCreateFunction: function (cluster) {
        var kids = cluster.getAllChildMarkers(), late = 0;
        kids.forEach(function (m) { if (m.options.incident.overdue) { late++; } });
        var n = cluster.getChildCount();
        var size = n < 10 ? 'small' : (n < 100 ? 'medium' : 'large');
        var html = '<div><span>' + n + '</span></div>' +
          (late ? '<b class="gridgeo-cluster-overdue">' + late + '</b>' : '');
        return L.divIcon({html: html, iconSize: L.point(40, 40),
          // a neutral blue scale (gridmap.css), not markercluster's green/yellow/orange,
          // which read as the legend's states (resolved, accepted, reported)
          className: 'marker-cluster gridgeo-cluster gridgeo-cluster-' + size +
            (late ? ' gridgeo-has-overdue' : '')});
      }
    });
  }

  function heat() {
    // no maxZoom option: the layer control would disable the layer above that zoom
    return L.heatLayer([], {radius: 22, blur: 18, minOpacity: 0.35});
  }

  function marker(it, labels) {
    var cls = 'gridgeo-marker state-' + it.state + (it.overdue ? ' overdue' : '');
    var icon = L.divIcon({className: cls, iconSize: [14, 14],
      html: '<span style="display:block;width:10px;height:10px;border-radius:50%;background:' +
        (STATE_COLOURS[it.state] || '#888') + '"></span>'});
    var m = L.marker([it.lat, it.lon], {icon: icon, incident: it, zIndexOffset: it.overdue ? 1000 : 0,
      title: (labels[it.category] || it.category) + ' #' + it.id});
    return m;
  }

  function row(k, v) { return '<tr><th>' + g.esc(k) + '</th><td>' + g.esc(v) + '</td></tr>'; }

  // Times as in the city: China Standard Time, in the page's language.
  var whenLang = 'zh-CN';
  function when(iso) {
    if (!iso) { return '–'; }
    return new Date(iso).toLocaleString(whenLang, {timeZone: 'Asia/Shanghai', hour12: false,
      year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit'});
  }

  // A note the system wrote in the page's language (the shell says it from its parts).
  function note(e) {
    var shell = window.gridgeoShell;
    return shell ? shell.noteText(e.note_parts, e.note, whenLang === 'en-GB' ? 'en' : 'zh') : e.note;
  }

  function detailHtml(it, d, t, labels) {
    var head = '<div class="gridgeo-popup gridgeo-incident" data-id="' + it.id + '"><b>' +
      g.esc(labels[it.category] || it.category) + '</b> #' + it.id +
      (it.overdue ? ' <span class="gridgeo-overdue-tag">' + g.esc(t.isOverdue) + '</span>' : '') +
      (it.major ? ' <span class="gridgeo-major-tag">' + g.esc(t.major) + '</span>' : '') + '<table>' +
      row(t.state, t[it.state] || it.state) + row(t.grid, it.grid) + row(t.reportedAt, when(it.reported_at));
    if (!d) { return head + '</table></div>'; }
    var body = row(t.acceptDue, when(d.accept_due)) + row(t.resolveDue, when(d.resolve_due)) +
      row(t.queue, d.queue_area || it.grid) + '</table>' +
      (d.description ? '<p class="gridgeo-description">' + g.esc(d.description) + '</p>' : '') +
      '<b>' + g.esc(t.timeline) + '</b><ol class="gridgeo-timeline">' +
      (d.timeline || []).map(function (e) {
        return '<li><time>' + g.esc(when(e.at)) + '</time> ' + g.esc(t.actions[e.action] || e.action) +
          (e.to_state && e.to_state !== e.from_state ? ' → ' + g.esc(t[e.to_state] || e.to_state) : '') +
          (e.actor ? ' · ' + g.esc(e.actor) : '') + (e.note ? ' — ' + g.esc(note(e)) : '') + '</li>';
      }).join('') + '</ol></div>';
    return head + body;
  }

  function filterControl(map, cfg, t, onApply) {
    var labels = {};
    cfg.categories.forEach(function (c) { labels[c.key] = cfg.lang === 'en' ? c.en : c.zh; });
    var Ctl = L.Control.extend({
      onAdd: function () {
        var box = L.DomUtil.create('form', 'gridgeo-filters leaflet-bar');
        var opts = function (pairs, sel) {
          return pairs.map(function (p) {
            return '<option value="' + g.esc(p[0]) + '"' + (p[0] === (sel || '') ? ' selected' : '') + '>' +
              g.esc(p[1]) + '</option>';
          }).join('');
        };
        var f = cfg.filter;
        // folded under a summary (closed on a phone, where it would cover the title)
        box.innerHTML = '<details class="gridgeo-fold"' + (map.getSize().x < 600 ? '' : ' open') +
          '><summary>' + g.esc(t.apply) + '</summary>' +
          '<label>' + g.esc(t.state) + ' <select name="state">' +
          opts([['', t.all], ['open', t.open]].concat(STATES.map(function (s) { return [s, t[s]]; })), f.state) +
          '</select></label>' +
          '<label>' + g.esc(t.category) + ' <select name="category">' +
          opts([['', t.all]].concat(cfg.categories.map(function (c) { return [c.key, labels[c.key]]; })), f.category) +
          '</select></label>' +
          '<label>' + g.esc(t.grid) + ' <input type="text" name="grid" value="' + g.esc(f.grid || '') + '"></label>' +
          '<label>' + g.esc(t.from) + ' <input type="date" name="from" value="' + g.esc(f.from || '') + '"></label>' +
          '<label>' + g.esc(t.to) + ' <input type="date" name="to" value="' + g.esc(f.to || '') + '"></label>' +
          '<label><input type="checkbox" name="overdue"' + (f.overdue ? ' checked' : '') + '> ' +
          g.esc(t.overdue) + '</label>' +
          '<button type="submit">' + g.esc(t.apply) + '</button> <button type="reset">' + g.esc(t.clear) +
          '</button></details><div class="gridgeo-count" aria-live="polite"></div>';
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        var read = function () {
          var q = {};
          ['state', 'category', 'grid', 'from', 'to'].forEach(function (k) {
            var v = box.elements[k].value.trim();
            if (v) { q[k] = v; }
          });
          if (box.elements.overdue.checked) { q.overdue = 'true'; }
          return q;
        };
        L.DomEvent.on(box, 'submit', function (e) { L.DomEvent.preventDefault(e); onApply(read(), true); });
        L.DomEvent.on(box, 'reset', function () { setTimeout(function () {
          box.elements.state.value = ''; box.elements.category.value = '';
          box.elements.grid.value = ''; box.elements.from.value = ''; box.elements.to.value = '';
          box.elements.overdue.checked = false; onApply({}, true);
        }, 0); });
        return box;
      }
    });
    var ctl = new Ctl({position: 'topright'}).addTo(map);
    return {control: ctl, labels: labels};
  }

  function incidentMap(map, clusterLayer, heatLayer, cfg) {
    var t = TEXT[cfg.lang] || TEXT.zh;
    whenLang = cfg.lang === 'en' ? 'en-GB' : 'zh-CN';
    var area = L.layerGroup().addTo(map);
    var ui;
    var show = function (q, fit) {
      var count = ui.control.getContainer().querySelector('.gridgeo-count');
      count.textContent = t.loading;
      var qs = Object.keys(q).map(function (k) { return k + '=' + encodeURIComponent(q[k]); }).join('&');
      if (cfg.lang === 'en') { qs += (qs ? '&' : '') + 'lang=en'; }
      if (window.history && window.history.replaceState && cfg.updateUrl) {
        window.history.replaceState(null, '', location.pathname + (qs ? '?' + qs : ''));
      }
      fetch(cfg.dataUrl + (qs ? '?' + qs : ''), {credentials: 'same-origin'})
        .then(function (r) {
          return r.json().then(function (body) { return {ok: r.ok, body: body}; });
        })
        .then(function (res) {
          if (!res.ok) {
            count.textContent = t.failed + ': ' + (res.body.message || res.body.detail || '');
            count.className = 'gridgeo-count gridgeo-error';
            return;
          }
          count.className = 'gridgeo-count';
          draw(res.body, fit);
        })
        .catch(function (err) { count.textContent = t.failed + ': ' + err; });
    };
    var draw = function (data, fit) {
      clusterLayer.clearLayers();
      area.clearLayers();
      var markers = data.incidents.map(function (it) {
        var m = marker(it, ui.labels);
        m.bindPopup(function () { return detailHtml(it, null, t, ui.labels); }, {maxWidth: 340});
        m.on('popupopen', function (e) {
          if (!cfg.detailUrl) { return; }  // a standalone file: no server to ask
          fetch(cfg.detailUrl + it.id, {credentials: 'same-origin'})
            .then(function (r) { return r.ok ? r.json() : null; })
            .then(function (d) { if (d) { e.popup.setContent(detailHtml(it, d, t, ui.labels)); } });
        });
        return m;
      });
      clusterLayer.addLayers(markers);
      heatLayer.setLatLngs(data.incidents.map(function (it) {
        return [it.lat, it.lon, it.overdue ? 1.0 : 0.6];
      }));
      var count = ui.control.getContainer().querySelector('.gridgeo-count');
      count.textContent = data.count + ' ' + t.count + ' · ' + data.overdue + ' ' + t.overdueCount +
        (data.truncated ? t.truncated : '');
      count.setAttribute('data-count', data.count);
      count.setAttribute('data-overdue', data.overdue);
      if (data.area) {
        L.geoJSON(data.area.feature, {interactive: false,
          style: {color: '#000', weight: 3, dashArray: '6 4', fill: false, className: 'gridgeo-area'}}).addTo(area);
      }
      if (fit) {
        if (data.area) {
          map.fitBounds(data.area.bounds);
        } else if (markers.length) {
          map.fitBounds(L.featureGroup(markers).getBounds(), {maxZoom: 16, padding: [30, 30]});
        }
      }
      window.gridgeoIncidents = data;
    };
    if (cfg.data) {  // a standalone file: the incidents are embedded, nothing to filter
      var labels = {};
      cfg.categories.forEach(function (c) { labels[c.key] = cfg.lang === 'en' ? c.en : c.zh; });
      var Count = L.Control.extend({onAdd: function () {
        var box = L.DomUtil.create('div', 'gridgeo-filters leaflet-bar');
        L.DomUtil.create('div', 'gridgeo-count', box);
        return box;
      }});
      ui = {control: new Count({position: 'topright'}).addTo(map), labels: labels};
      draw(cfg.data, cfg.fit);
      return ui;
    }
    ui = filterControl(map, cfg, t, show);
    show(cfg.filter, cfg.fit);
    return ui;
  }

  g.incidentClusters = clusters;
  g.incidentHeat = heat;
  g.incidentMap = incidentMap;
  g.STATE_COLOURS = STATE_COLOURS;
  g.INCIDENT_TEXT = TEXT;
})();
