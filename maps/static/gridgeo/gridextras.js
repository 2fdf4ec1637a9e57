/* gridgeo map pages: the clicked grid stays outlined, and grid names appear where they fit.

   Both read the tiles mvt.js has already decoded (no second request): the selection is
   stroked again on top of each tile after it is painted, so neighbours' outlines never cover
   it and a grid cut across several tiles is outlined whole; a name is placed at the middle of
   the grid's box (gathered over every tile it is cut into) when that point lies in the grid
   and the text is narrower than the grid on screen, so names come in as the map zooms in.
   Plain ES5; gridgeo.levelTiles (gridmap.js) calls attach() for each level layer. */
(function () {
  'use strict';
  var SELECTED = '#00e5ff';  // cyan: in no legend (loads, states, outlines)
  var MAX_LABELS = 400;       // a city view never needs more; each is a DOM element

  // Text width in pixels at the labels' 12 px font: a CJK character ~12 px, others ~7 px.
  function textWidth(s) {
    var w = 0;
    for (var i = 0; i < s.length; i++) { w += s.charCodeAt(i) > 0x2e80 ? 12 : 7; }
    return w + 8;  // padding
  }

  function leafLayers(grid, key, leaf) {
    var tile = grid._data[key];
    return tile ? tile.layers.filter(function (l) { return l.name === leaf; }) : [];
  }

  function shown(grid, leaf) {
    var s = grid.options.styles[leaf];
    return !!s && !(s instanceof Array);
  }

  // Stroke the selected grid again on the tile `key`, above everything painted there.
  function paintSelected(grid, key, leaf) {
    var code = grid._gridgeoSelected, tile = grid._data[key];
    if (!code || !tile || !shown(grid, leaf)) { return; }
    var ctx = tile.canvas.getContext('2d'), ratio = window.devicePixelRatio || 1;
    leafLayers(grid, key, leaf).forEach(function (layer) {
      var k = tile.canvas.width / layer.extent;
      ctx.setTransform(k, 0, 0, k, 0, 0);
      layer.features.forEach(function (f) {
        if (f.properties.code !== code) { return; }
        ctx.beginPath();
        f.rings.forEach(function (c) {
          ctx.moveTo(c[0], c[1]);
          for (var i = 2; i < c.length; i += 2) { ctx.lineTo(c[i], c[i + 1]); }
          ctx.closePath();
        });
        ctx.globalAlpha = 0.25;
        ctx.fillStyle = SELECTED;
        ctx.fill('evenodd');
        ctx.globalAlpha = 1;
        ctx.strokeStyle = SELECTED;
        ctx.lineWidth = 4 * ratio / k;
        ctx.lineJoin = 'round';
        ctx.stroke();
      });
    });
    ctx.setTransform(1, 0, 0, 1, 0, 0);
  }

  // Where to write each leaf grid's name on screen, for the names that fit: [{code, name, latlng}].
  function labelSpots(grid, map, leaf) {
    if (!shown(grid, leaf) || grid._tileZoom === undefined) { return []; }
    var z = grid._tileZoom, size = grid.getTileSize().x;
    var scale = map.getZoomScale(map.getZoom(), z);
    var boxes = {};  // code -> {name, box (world pixels at z), pieces}
    Object.keys(grid._data).forEach(function (key) {
      var parts = key.split(':'), tx = +parts[0], ty = +parts[1];
      if (+parts[2] !== z) { return; }
      leafLayers(grid, key, leaf).forEach(function (layer) {
        var k = size / layer.extent;
        layer.features.forEach(function (f) {
          var c = f.properties.code, b = f.bbox;
          if (!c || !f.properties.name || b[2] < b[0]) { return; }
          var x0 = tx * size + b[0] * k, y0 = ty * size + b[1] * k;
          var x1 = tx * size + b[2] * k, y1 = ty * size + b[3] * k;
          var e = boxes[c] || (boxes[c] = {name: f.properties.name, box: [x0, y0, x1, y1], pieces: []});
          e.box = [Math.min(e.box[0], x0), Math.min(e.box[1], y0), Math.max(e.box[2], x1), Math.max(e.box[3], y1)];
          e.pieces.push({f: f, tx: tx, ty: ty, k: k});
        });
      });
    });
    // the view in world pixels at the tiles' zoom, so that a big grid is named in the part seen
    var pb = map.getPixelBounds(), v = [pb.min.x / scale, pb.min.y / scale, pb.max.x / scale, pb.max.y / scale];
    var out = [];
    Object.keys(boxes).forEach(function (code) {
      var e = boxes[code], a = e.box;
      var b = [Math.max(a[0], v[0]), Math.max(a[1], v[1]), Math.min(a[2], v[2]), Math.min(a[3], v[3])];
      if ((b[2] - b[0]) * scale < textWidth(e.name) || (b[3] - b[1]) * scale < 18) { return; }
      var inside = function (cx, cy) {
        return e.pieces.some(function (p) {
          return gridgeoMvt.contains(p.f, (cx - p.tx * size) / p.k, (cy - p.ty * size) / p.k);
        });
      };
      // the middle of the box seen, else the nearest point of a 7×7 lattice over it, where
      // the whole name lies in the grid (an L-shaped grid's middle is another grid's)
      var half = textWidth(e.name) / 2 / scale, mx = (b[0] + b[2]) / 2, my = (b[1] + b[3]) / 2;
      var spots = [[mx, my]];
      for (var i = 1; i < 8; i++) {
        for (var j = 1; j < 8; j++) { spots.push([b[0] + (b[2] - b[0]) * i / 8, b[1] + (b[3] - b[1]) * j / 8]); }
      }
      spots.sort(function (p, q) {
        return (p[0] - mx) * (p[0] - mx) + (p[1] - my) * (p[1] - my) - (q[0] - mx) * (q[0] - mx) - (q[1] - my) * (q[1] - my);
      });
      var spot = spots.filter(function (c) {
        return inside(c[0], c[1]) && inside(c[0] - half, c[1]) && inside(c[0] + half, c[1]);
      })[0];
      if (!spot) { return; }
      out.push({code: code, name: e.name, latlng: map.unproject(L.point(spot[0], spot[1]), z)});
    });
    return out.slice(0, MAX_LABELS);
  }

  function attach(grid, map, leaf) {
    if (!leaf) { return; }
    var paint = grid._paint;
    grid._paint = function (key) {
      paint.call(this, key);
      paintSelected(this, key, leaf);
    };
    grid.on('click', function (e) {
      grid._gridgeoSelected = e.layer.properties.code;
      grid.restyle();
      map.getContainer().setAttribute('data-selected', grid._gridgeoSelected);
    });
    if (!map.getPane('gridgeoLabels')) {
      map.createPane('gridgeoLabels');
      map.getPane('gridgeoLabels').style.zIndex = 450;  // above the tiles, below popups
      map.getPane('gridgeoLabels').style.pointerEvents = 'none';
    }
    var labels = L.layerGroup().addTo(map);
    var timer = null;
    function relabel() {
      clearTimeout(timer);
      timer = setTimeout(function () {
        labels.clearLayers();
        if (!grid._map) { return; }
        labelSpots(grid, map, leaf).forEach(function (s) {
          L.marker(s.latlng, {
            pane: 'gridgeoLabels', interactive: false, keyboard: false,
            icon: L.divIcon({className: 'gridgeo-label', iconSize: null,
              html: '<span data-code="' + gridgeo.esc(s.code) + '">' + gridgeo.esc(s.name) + '</span>'})
          }).addTo(labels);
        });
      }, 60);
    }
    map.on('zoomstart', function () { labels.clearLayers(); });
    map.on('moveend', relabel);
    grid.on('load', relabel);
    grid.on('tileload', relabel);
    grid._gridgeoRelabel = relabel;
    var restyle = grid.restyle;
    grid.restyle = function () { restyle.call(this); relabel(); return this; };
  }

  window.gridgeoExtras = {attach: attach, labelSpots: labelSpots, SELECTED: SELECTED};
})();
