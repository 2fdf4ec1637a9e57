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
      // where the whole name lies in the grid (an L-shaped grid's middle is another grid's)
      var spot = pickSpot(b, textWidth(e.name) / 2 / scale, inside);
      if (!spot) { return; }
      out.push({code: code, name: e.name, latlng: map.unproject(L.point(spot[0], spot[1]), z)});
    });
    return out.slice(0, MAX_LABELS);
  }

  // The point nearest the middle of box b (world pixels; the middle, else a 7×7 lattice over
  // it) where a name half `half` pixels wide lies inside the shape (`inside(x, y)`), or null.
  function pickSpot(b, half, inside) {
    var mx = (b[0] + b[2]) / 2, my = (b[1] + b[3]) / 2, spots = [[mx, my]];
    for (var i = 1; i < 8; i++) {
      for (var j = 1; j < 8; j++) { spots.push([b[0] + (b[2] - b[0]) * i / 8, b[1] + (b[3] - b[1]) * j / 8]); }
    }
    spots.sort(function (p, q) {
      return (p[0] - mx) * (p[0] - mx) + (p[1] - my) * (p[1] - my) - (q[0] - mx) * (q[0] - mx) - (q[1] - my) * (q[1] - my);
    });
    return spots.filter(function (c) {
      return inside(c[0], c[1]) && inside(c[0] - half, c[1]) && inside(c[0] + half, c[1]);
    })[0] || null;
  }

  function labelPane(map) {
    if (!map.getPane('gridgeoLabels')) {
      map.createPane('gridgeoLabels');
      map.getPane('gridgeoLabels').style.zIndex = 450;  // above the tiles, below popups
      map.getPane('gridgeoLabels').style.pointerEvents = 'none';
    }
  }

  function addLabel(group, s) {
    L.marker(s.latlng, {
      pane: 'gridgeoLabels', interactive: false, keyboard: false,
      icon: L.divIcon({className: 'gridgeo-label', iconSize: null,
        html: '<span data-code="' + gridgeo.esc(s.code) + '">' + gridgeo.esc(s.name) + '</span>'})
    }).addTo(group);
  }

  // Flat pixel rings ([x0, y0, x1, y1, …] at zoom z) of a Leaflet polygon's lat/lngs.
  function pixelRings(map, latlngs, z, out) {
    if (!latlngs.length) { return out; }
    if (latlngs[0] instanceof L.LatLng) {
      var ring = [];
      latlngs.forEach(function (ll) { var p = map.project(ll, z); ring.push(p.x, p.y); });
      out.push(ring);
    } else {
      latlngs.forEach(function (part) { pixelRings(map, part, z, out); });
    }
    return out;
  }

  // Where to write the name of each polygon of a GeoJSON layer (an area's children) on screen.
  function areaLabelSpots(geo, map) {
    var z = map.getZoom(), pb = map.getPixelBounds(), out = [];
    var v = [pb.min.x, pb.min.y, pb.max.x, pb.max.y];
    geo.eachLayer(function (l) {
      var p = l.feature && l.feature.properties;
      if (!p || !p.code || !p.name || !l.getLatLngs) { return; }
      var rings = pixelRings(map, l.getLatLngs(), z, []), a = [Infinity, Infinity, -Infinity, -Infinity];
      rings.forEach(function (c) {
        for (var i = 0; i < c.length; i += 2) {
          a = [Math.min(a[0], c[i]), Math.min(a[1], c[i + 1]), Math.max(a[2], c[i]), Math.max(a[3], c[i + 1])];
        }
      });
      var b = [Math.max(a[0], v[0]), Math.max(a[1], v[1]), Math.min(a[2], v[2]), Math.min(a[3], v[3])];
      var w = textWidth(p.name);
      if (b[2] - b[0] < w || b[3] - b[1] < 18) { return; }
      var feature = {rings: rings, bbox: a};
      var spot = pickSpot(b, w / 2, function (x, y) { return containsRings(feature, x, y); });
      if (spot) { out.push({code: p.code, name: p.name, latlng: map.unproject(L.point(spot[0], spot[1]), z)}); }
    });
    return out.slice(0, MAX_LABELS);
  }

  // Even-odd point in polygon (as gridgeoMvt.contains; the area page loads no mvt.js).
  function containsRings(feature, x, y) {
    var b = feature.bbox, inside = false;
    if (x < b[0] || x > b[2] || y < b[1] || y > b[3]) { return false; }
    feature.rings.forEach(function (c) {
      for (var i = 0, j = c.length - 2; i < c.length; j = i, i += 2) {
        if ((c[i + 1] > y) !== (c[j + 1] > y) && x < (c[j] - c[i]) * (y - c[i + 1]) / (c[j + 1] - c[i + 1]) + c[i]) { inside = !inside; }
      }
    });
    return inside;
  }

  // An area's children drawn as a GeoJSON layer (maps/area_page.py): the clicked child stays
  // outlined in cyan (above its neighbours, through hovers) until another is clicked, and the
  // children's names appear where they fit, as on the tile maps.
  function attachAreas(geo, map) {
    var selected = null;
    function mark() {
      geo.eachLayer(function (l) {
        if (l.feature && l.feature.properties.code === selected && l.setStyle) {
          l.setStyle({color: SELECTED, weight: 4, fillColor: SELECTED, fillOpacity: 0.35});
          l.bringToFront();
        }
      });
    }
    geo.on('click', function (e) {
      var code = e.layer.feature.properties.code;
      if (selected !== code) {
        geo.eachLayer(function (l) { if (l.feature && l.feature.properties.code === selected) { geo.resetStyle(l); } });
      }
      selected = code;
      mark();
      map.getContainer().setAttribute('data-selected', code);
    });
    geo.on('mouseout', mark);  // Folium's highlight resets the style on mouseout: mark again
    labelPane(map);
    var labels = L.layerGroup().addTo(map), timer = null;
    function relabel() {
      clearTimeout(timer);
      timer = setTimeout(function () {
        labels.clearLayers();
        if (!geo._map) { return; }
        areaLabelSpots(geo, map).forEach(function (s) { addLabel(labels, s); });
      }, 60);
    }
    map.on('zoomstart', function () { labels.clearLayers(); });
    map.on('moveend', relabel);
    map.on('overlayadd overlayremove', relabel);
    relabel();
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
    labelPane(map);
    var labels = L.layerGroup().addTo(map);
    var timer = null;
    function relabel() {
      clearTimeout(timer);
      timer = setTimeout(function () {
        labels.clearLayers();
        if (!grid._map) { return; }
        labelSpots(grid, map, leaf).forEach(function (s) { addLabel(labels, s); });
      }, 60);
    }
    map.on('zoomstart', function () { labels.clearLayers(); });
    map.on('moveend', relabel);
    // once every tile of the view is in ('load'), not per tile: at a city view each pass reads
    // every grid of every tile, and per-tile passes delayed the first draw
    grid.on('load', relabel);
    grid._gridgeoRelabel = relabel;
    var restyle = grid.restyle;
    grid.restyle = function () { restyle.call(this); relabel(); return this; };
  }

  window.gridgeoExtras = {
    attach: attach, attachAreas: attachAreas, labelSpots: labelSpots, areaLabelSpots: areaLabelSpots,
    SELECTED: SELECTED
  };
})();
