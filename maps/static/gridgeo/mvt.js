/* gridgeo: a lean canvas layer for gridgeo's own Mapbox vector tiles (polygons only).

   Why not Leaflet.VectorGrid: it makes a Leaflet path object per feature (projected points,
   event parents, per-layer redraws), which at a 10,000-grid city view cost most of the time
   to first draw. Here each 512-pixel tile is decoded once into flat rings and painted straight
   on its canvas; clicks and hovers are answered by a point-in-polygon test on the tile's
   features; showing or hiding a level repaints the kept tiles without fetching them again.
   Plain ES5 on Leaflet 1.9; the MVT reader follows the Mapbox vector tile spec 2.1. */
(function () {
  'use strict';
  var utf8 = typeof TextDecoder !== 'undefined' ? new TextDecoder('utf-8') : null;

  // --- protobuf / MVT decoding -------------------------------------------------------------
  function Pbf(buf) { this.buf = buf; this.pos = 0; }
  Pbf.prototype.varint = function () {
    var b = this.buf, v = 0, shift = 0, byte;
    do {
      byte = b[this.pos++];
      v += (byte & 0x7f) * Math.pow(2, shift);
      shift += 7;
    } while (byte >= 0x80);
    return v;
  };
  Pbf.prototype.skip = function (wire) {
    if (wire === 0) { this.varint(); } else if (wire === 1) { this.pos += 8; } else if (wire === 2) {
      var n = this.varint(); this.pos += n;
    } else if (wire === 5) { this.pos += 4; } else { throw new Error('MVT: wire type ' + wire); }
  };
  Pbf.prototype.string = function (end) {
    var s = utf8 ? utf8.decode(this.buf.subarray(this.pos, end)) : '';
    this.pos = end;
    return s;
  };
  function zigzag(n) { return (n % 2) ? -(n + 1) / 2 : n / 2; }

  function readValue(p, end) {
    var v = null, view;
    while (p.pos < end) {
      var tag = p.varint(), f = tag >> 3, w = tag & 7;
      if (f === 1) { var n = p.varint(); v = p.string(p.pos + n); } else if (f === 2) {
        view = new DataView(p.buf.buffer, p.buf.byteOffset + p.pos, 4); v = view.getFloat32(0, true); p.pos += 4;
      } else if (f === 3) {
        view = new DataView(p.buf.buffer, p.buf.byteOffset + p.pos, 8); v = view.getFloat64(0, true); p.pos += 8;
      } else if (f === 4 || f === 5) { v = p.varint(); } else if (f === 6) { v = zigzag(p.varint()); } else if (f === 7) {
        v = !!p.varint();
      } else { p.skip(w); }
    }
    return v;
  }

  // Rings of a polygon feature as flat [x0, y0, x1, y1, …] arrays in tile units, with a bbox.
  function readGeometry(p, end) {
    var rings = [], ring = null, x = 0, y = 0, minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    while (p.pos < end) {
      var cmd = p.varint(), id = cmd & 7, count = cmd >> 3;
      if (id === 1 || id === 2) {
        for (var i = 0; i < count; i++) {
          x += zigzag(p.varint()); y += zigzag(p.varint());
          if (id === 1) { ring = []; rings.push(ring); }
          ring.push(x, y);
          if (x < minX) { minX = x; } if (x > maxX) { maxX = x; }
          if (y < minY) { minY = y; } if (y > maxY) { maxY = y; }
        }
      }  // 7 (ClosePath) needs nothing: rings are drawn closed
    }
    return {rings: rings, bbox: [minX, minY, maxX, maxY]};
  }

  function readLayer(p, end) {
    var layer = {name: '', extent: 4096, keys: [], values: [], raw: []};
    while (p.pos < end) {
      var tag = p.varint(), f = tag >> 3, w = tag & 7, n;
      if (f === 1) { n = p.varint(); layer.name = p.string(p.pos + n); } else if (f === 2) {
        n = p.varint(); layer.raw.push([p.pos, p.pos + n]); p.pos += n;
      } else if (f === 3) { n = p.varint(); layer.keys.push(p.string(p.pos + n)); } else if (f === 4) {
        n = p.varint(); layer.values.push(readValue(p, p.pos + n));
      } else if (f === 5) { layer.extent = p.varint(); } else { p.skip(w); }
    }
    layer.features = layer.raw.map(function (span) {
      var props = {}, geom = null;
      p.pos = span[0];
      while (p.pos < span[1]) {
        var tag = p.varint(), f = tag >> 3, w = tag & 7, n;
        if (f === 2) {
          n = p.varint(); var stop = p.pos + n;
          while (p.pos < stop) { var k = p.varint(), v = p.varint(); props[layer.keys[k]] = layer.values[v]; }
        } else if (f === 4) { n = p.varint(); geom = readGeometry(p, p.pos + n); } else { p.skip(w); }
      }
      return {properties: props, rings: geom ? geom.rings : [], bbox: geom ? geom.bbox : [0, 0, -1, -1]};
    });
    delete layer.raw;
    p.pos = end;  // the features were read out of order: go on after the layer
    return layer;
  }

  function readTile(buf) {
    var p = new Pbf(new Uint8Array(buf)), layers = [];
    while (p.pos < p.buf.length) {
      var tag = p.varint();
      if (tag >> 3 === 3 && (tag & 7) === 2) { var n = p.varint(); layers.push(readLayer(p, p.pos + n)); } else { p.skip(tag & 7); }
    }
    return layers;
  }

  // Even-odd point in polygon over all rings of a feature (holes included).
  function contains(feature, x, y) {
    var b = feature.bbox;
    if (x < b[0] || x > b[2] || y < b[1] || y > b[3]) { return false; }
    var inside = false;
    for (var r = 0; r < feature.rings.length; r++) {
      var c = feature.rings[r], n = c.length;
      for (var i = 0, j = n - 2; i < n; j = i, i += 2) {
        var yi = c[i + 1], yj = c[j + 1];
        if ((yi > y) !== (yj > y) && x < (c[j] - c[i]) * (y - yi) / (yj - yi) + c[i]) { inside = !inside; }
      }
    }
    return inside;
  }

  // --- the layer ---------------------------------------------------------------------------
  var MvtGrid = L.GridLayer.extend({
    options: {tileSize: 512, pane: 'overlayPane', maxNativeZoom: 17, zoomOffset: -1, styles: {}},

    initialize: function (url, options) {
      L.GridLayer.prototype.initialize.call(this, options);
      this._url = url;
      this._data = {};  // tile key -> decoded layers
      this._hover = null;
    },

    onAdd: function (map) {
      L.GridLayer.prototype.onAdd.call(this, map);
      map.on('click', this._clickAt, this);
      map.on('mousemove', this._hoverAt, this);
    },

    onRemove: function (map) {
      map.off('click', this._clickAt, this);
      map.off('mousemove', this._hoverAt, this);
      L.GridLayer.prototype.onRemove.call(this, map);
    },

    createTile: function (coords, done) {
      var size = this.getTileSize(), ratio = window.devicePixelRatio || 1;
      var canvas = document.createElement('canvas');
      canvas.width = size.x * ratio;
      canvas.height = size.y * ratio;
      canvas.style.width = size.x + 'px';
      canvas.style.height = size.y + 'px';
      var key = this._tileCoordsToKey(coords), self = this;
      var url = L.Util.template(this._url, {x: coords.x, y: coords.y, z: coords.z + this.options.zoomOffset});
      // a tile the page's head already asked for (early.js), else asked now
      var early = window.gridgeoEarly && window.gridgeoEarly[url];
      if (early) { delete window.gridgeoEarly[url]; }
      (early || fetch(url, {credentials: 'same-origin'})
        .then(function (r) {
          if (!r.ok) { throw new Error('tile ' + url + ': HTTP ' + r.status); }
          return r.arrayBuffer();
        }))
        .then(function (buf) {
          if (!self._tiles[key]) { return; }  // panned away meanwhile
          self._data[key] = {layers: readTile(buf), canvas: canvas};
          self._paint(key);
          done(null, canvas);
        })
        .catch(function (err) { done(err, canvas); });
      return canvas;
    },

    _removeTile: function (key) {
      delete this._data[key];
      L.GridLayer.prototype._removeTile.call(this, key);
    },

    _paint: function (key) {
      var tile = this._data[key], canvas = tile.canvas, ctx = canvas.getContext('2d');
      var styles = this.options.styles, zoom = this._tileZoom;
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      tile.layers.forEach(function (layer) {
        var style = styles[layer.name];
        if (!style || (style instanceof Array)) { return; }  // not configured, or hidden
        var k = canvas.width / layer.extent;
        ctx.setTransform(k, 0, 0, k, 0, 0);
        var fixed = typeof style === 'function' ? null : style;
        for (var f = 0; f < layer.features.length; f++) {
          var feat = layer.features[f], s = fixed || style(feat.properties, zoom);
          ctx.beginPath();
          for (var r = 0; r < feat.rings.length; r++) {
            var c = feat.rings[r];
            ctx.moveTo(c[0], c[1]);
            for (var i = 2; i < c.length; i += 2) { ctx.lineTo(c[i], c[i + 1]); }
            ctx.closePath();
          }
          if (s.fill) {
            ctx.globalAlpha = s.fillOpacity === undefined ? 0.2 : s.fillOpacity;
            ctx.fillStyle = s.fillColor || s.color;
            ctx.fill('evenodd');
          }
          if (s.stroke !== false && s.weight) {
            ctx.globalAlpha = s.opacity === undefined ? 1 : s.opacity;
            ctx.strokeStyle = s.color;
            ctx.lineWidth = s.weight * (window.devicePixelRatio || 1) / k;
            ctx.lineJoin = 'round';
            ctx.stroke();
          }
        }
      });
      ctx.globalAlpha = 1;
    },

    // Repaint every kept tile (a level shown or hidden, a style changed): no refetch.
    restyle: function () {
      for (var key in this._data) { if (this._data.hasOwnProperty(key)) { this._paint(key); } }
      return this;
    },

    // The interactive (leaf) feature under a point, or null.
    featureAt: function (latlng) {
      if (!this._map || this._tileZoom === undefined) { return null; }
      var size = this.getTileSize(), p = this._map.project(latlng, this._tileZoom);
      var coords = L.point(Math.floor(p.x / size.x), Math.floor(p.y / size.y));
      coords.z = this._tileZoom;
      var tile = this._data[this._tileCoordsToKey(coords)];
      if (!tile) { return null; }
      var styles = this.options.styles, interactive = this.options.interactiveLayer;
      for (var l = tile.layers.length - 1; l >= 0; l--) {
        var layer = tile.layers[l];
        if (layer.name !== interactive || !styles[layer.name] || styles[layer.name] instanceof Array) { continue; }
        var k = layer.extent / size.x, x = (p.x - coords.x * size.x) * k, y = (p.y - coords.y * size.y) * k;
        for (var f = layer.features.length - 1; f >= 0; f--) {
          if (contains(layer.features[f], x, y)) { return layer.features[f]; }
        }
      }
      return null;
    },

    _clickAt: function (e) {
      var feat = this.featureAt(e.latlng);
      if (feat) { this.fire('click', {latlng: e.latlng, layer: feat, originalEvent: e.originalEvent}); }
    },

    _hoverAt: function (e) {
      var feat = this.featureAt(e.latlng);
      if (feat !== this._hover) {
        if (this._hover) { this.fire('mouseout', {latlng: e.latlng, layer: this._hover}); }
        this._hover = feat;
        this._map.getContainer().style.cursor = feat ? 'pointer' : '';
        if (feat) { this.fire('mouseover', {latlng: e.latlng, layer: feat}); }
      }
    },

    // Features per level in the tiles on screen that are shown (for tests and benchmarks).
    drawnFeatures: function () {
      var out = {}, styles = this.options.styles;
      for (var key in this._data) {
        if (!this._data.hasOwnProperty(key)) { continue; }
        this._data[key].layers.forEach(function (layer) {
          var s = styles[layer.name];
          if (s && !(s instanceof Array)) { out[layer.name] = (out[layer.name] || 0) + layer.features.length; }
        });
      }
      return out;
    }
  });

  window.gridgeoMvt = {MvtGrid: MvtGrid, readTile: readTile, contains: contains};
})();
