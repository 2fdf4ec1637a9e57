/* gridgeo: ask for the first view's tiles before any script has loaded (inlined in <head>).

   The map page's first draw waits on its tiles; Leaflet would ask for them only after
   leaflet.js, the page scripts and the page's own script have run. This script, inlined first
   in the page's <head>, works out the view Leaflet's fitBounds will choose for this window
   (same Spherical Mercator arithmetic, zoom snapped as Leaflet does) and starts fetching its
   512-pixel tiles at once; mvt.js takes a tile from window.gridgeoEarly when its URL matches,
   else asks for it as before. Called as gridgeoEarlyTiles(bounds, url, minZoom, maxZoom,
   maxNativeZoom). Plain ES5. */
window.gridgeoEarlyTiles = function (b, url, minZoom, maxZoom, maxNative) {
  'use strict';
  var w = window.innerWidth, h = window.innerHeight, early = window.gridgeoEarly = {};
  if (!b || !w || !h || !window.fetch) { return early; }
  function px(lat, lng) {  // world pixels at zoom 0
    var r = Math.max(Math.min(lat, 85.0511287798), -85.0511287798) * Math.PI / 180;
    return [256 * (lng + 180) / 360, 256 * (1 - Math.log(Math.tan(Math.PI / 4 + r / 2)) / Math.PI) / 2];
  }
  var sw = px(b[0][0], b[0][1]), ne = px(b[1][0], b[1][1]);
  var z = Math.log(Math.min(w / Math.abs(ne[0] - sw[0]), h / Math.abs(sw[1] - ne[1]))) / Math.LN2;
  z = Math.floor(Math.round(z * 100) / 100);
  z = Math.max(minZoom, Math.min(maxZoom, z));
  var tz = Math.min(z, maxNative), k = Math.pow(2, tz);
  var cx = Math.floor((sw[0] + ne[0]) / 2 * k), cy = Math.floor((sw[1] + ne[1]) / 2 * k);
  var half = [w / 2 / Math.pow(2, z - tz), h / 2 / Math.pow(2, z - tz)], n = k / 2;
  var x0 = Math.floor((cx - half[0]) / 512), x1 = Math.ceil((cx + half[0]) / 512) - 1;
  var y0 = Math.max(0, Math.floor((cy - half[1]) / 512)), y1 = Math.min(n - 1, Math.ceil((cy + half[1]) / 512) - 1);
  function get(u) {
    return fetch(u, {credentials: 'same-origin'}).then(function (r) {
      if (!r.ok) { throw new Error('tile ' + u + ': HTTP ' + r.status); }
      return r.arrayBuffer();
    });
  }
  for (var y = y0; y <= y1; y++) {
    for (var x = x0; x <= x1; x++) {
      var xx = ((x % n) + n) % n;
      var u = url.replace('{z}', tz - 1).replace('{x}', xx).replace('{y}', y);
      early[u] = get(u);
      early[u]['catch'](function () {});  // a failure is met again when the layer asks
    }
  }
  return early;
};
