/* gridgeo's phone outbox, shared by the staff's /report and the residents' /resident pages.
 *
 * Why it is here: both pages must keep what a person sent while the phone is offline and send it
 * again, safely, when the connection returns; one copy of that logic cannot drift (api/
 * shell_static is the shared front-end shell: shell.js first, then this file).
 *
 * Every item is stored in localStorage first ("queued") under a client-generated key (the
 * Idempotency-Key of a report), then POSTed ("sent") when the phone is online; a 201 or 200
 * answer (or what the page's acknowledged() accepts, e.g. a 409 saying a transition's target
 * is reached) marks it "acknowledged". A network error, a 5xx, 408 or 429 puts it back to
 * "queued"; the 'online' event and a retry timer send it again with the same key, so a retry
 * never creates a second record. Any other 4xx is final ("rejected", with the server's answer,
 * shown through the shell's describe() in the page's language).
 *
 * Photos are resized on the phone (longest side 1600 px, JPEG 0.8; the re-encoding drops EXIF,
 * GPS included) and kept as Blobs in IndexedDB under the item's key until it is acknowledged
 * or rejected; an item with photos is sent as multipart/form-data, its fields plus "photo" files.
 *
 * gridgeoShell.outbox(options) → box. options: queueKey and idbName (storage names), maxPhotos,
 * tooMany (the i18n key of "too many photos"), owner() (the items of whom to show and send:
 * the account's name, "" for an anonymous page), canSend() (online and, for staff, a token),
 * target(item) → [path, headers], acknowledged(item, res) → changes or null (optional),
 * changed() (redraw), flushed() (after a round of sending). box: enqueue(item, files), flush(),
 * items(), update(key, changes), clearDone(), refusal(error), uuid(), pickedFiles(input),
 * renderPreviews(list, files).
 */
(function () {
  "use strict";

  var shell = window.gridgeoShell, $ = shell.$, t = shell.t;
  var MAX_SIDE = 1600, QUALITY = 0.8, IDB_STORE = "photos";

  function uuid() {
    if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));  // insecure contexts lack randomUUID
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); });
    return h.slice(0, 4).join("") + "-" + h.slice(4, 6).join("") + "-" + h.slice(6, 8).join("") +
      "-" + h.slice(8, 10).join("") + "-" + h.slice(10).join("");
  }
  function pickedFiles(inputId) {
    return Array.prototype.slice.call($(inputId).files || []);
  }
  function renderPreviews(listId, files) {
    var ul = $(listId);
    Array.prototype.forEach.call(ul.querySelectorAll("img"), function (img) {
      URL.revokeObjectURL(img.src);
    });
    ul.innerHTML = "";
    files.forEach(function (f) {
      var li = document.createElement("li"), img = document.createElement("img");
      img.src = URL.createObjectURL(f); img.alt = f.name; li.appendChild(img); ul.appendChild(li);
    });
  }
  function decode(file) {
    function viaImg() {
      return new Promise(function (resolve, reject) {
        var url = URL.createObjectURL(file), img = new Image();
        img.onload = function () { URL.revokeObjectURL(url); resolve(img); };
        img.onerror = function () {
          URL.revokeObjectURL(url); reject(new Error(t("photo_error") + " " + file.name));
        };
        img.src = url;
      });
    }
    if (!window.createImageBitmap) return viaImg();
    return createImageBitmap(file, { imageOrientation: "from-image" }).catch(viaImg);
  }
  function resize(file) {  // a JPEG Blob, longest side at most MAX_SIDE
    return decode(file).then(function (img) {
      var k = Math.min(1, MAX_SIDE / Math.max(img.width, img.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(img.width * k));
      canvas.height = Math.max(1, Math.round(img.height * k));
      canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
      if (img.close) img.close();
      return new Promise(function (resolve, reject) {
        canvas.toBlob(function (b) {
          if (b) resolve(b); else reject(new Error(t("photo_error") + " " + file.name));
        }, "image/jpeg", QUALITY);
      });
    });
  }
  /* A kept refusal in the page's language: {status, body} of the answer, or a sentence. */
  function refusal(error) {
    return typeof error === "string" ? error : shell.describe(error.status, error.body);
  }

  function outbox(o) {
    var flushing = false, idbOpening = null;
    function noteError(e) {
      if (e instanceof shell.AuthError) return;
      if (window.console) console.warn("gridgeo outbox:", e);  // eslint-disable-line no-console
    }
    function idb() {
      if (!idbOpening) {
        idbOpening = new Promise(function (resolve, reject) {
          if (!window.indexedDB) { reject(new Error("IndexedDB unavailable")); return; }
          var req = indexedDB.open(o.idbName, 1);
          req.onupgradeneeded = function () { req.result.createObjectStore(IDB_STORE); };
          req.onsuccess = function () { resolve(req.result); };
          req.onerror = function () { reject(req.error); };
        });
      }
      return idbOpening;
    }
    function idbDo(mode, fn) {
      return idb().then(function (db) {
        return new Promise(function (resolve, reject) {
          var tx = db.transaction(IDB_STORE, mode), result;
          var req = fn(tx.objectStore(IDB_STORE));
          req.onsuccess = function () { result = req.result; };
          tx.oncomplete = function () { resolve(result); };
          tx.onerror = tx.onabort = function () { reject(tx.error); };
        });
      });
    }
    function putPhotos(key, blobs) {
      return idbDo("readwrite", function (st) { return st.put(blobs, key); });
    }
    function getPhotos(key) {
      return idbDo("readonly", function (st) { return st.get(key); }).then(function (b) {
        return b || [];
      });
    }
    function dropPhotos(key) {
      return idbDo("readwrite", function (st) { return st.delete(key); }).catch(noteError);
    }
    function load() {
      try { return JSON.parse(localStorage.getItem(o.queueKey) || "[]"); } catch (e) { return []; }
    }
    function save(q) { localStorage.setItem(o.queueKey, JSON.stringify(q)); }
    function changed() { if (o.changed) o.changed(); }
    function update(key, changes) {
      var q = load();
      q.forEach(function (item) { if (item.key === key) Object.assign(item, changes); });
      save(q); changed();
    }
    function items() {
      return load().filter(function (i) { return i.user === o.owner(); });
    }
    /* Resize and keep the photos, then queue the item; resolves when it is queued. */
    function enqueue(item, files) {
      files = files || [];
      if (files.length > o.maxPhotos) return Promise.reject(new Error(t(o.tooMany)));
      return Promise.all(files.map(resize)).then(function (blobs) {
        if (!blobs.length) return 0;
        return putPhotos(item.key, blobs).then(function () { return blobs.length; });
      }).then(function (n) {
        var q = load();
        q.push(Object.assign({ user: o.owner(), state: "queued", created: Date.now(),
          attempts: 0, id: null, error: null, photos: n }, item));
        save(q);
        changed();
        flush();
      });
    }
    function flush() {
      if (flushing || !o.canSend()) return Promise.resolve();
      var pending = items().filter(function (i) {
        return i.state === "queued" || i.state === "sent";
      });
      if (!pending.length) return Promise.resolve();
      flushing = true;
      var chain = Promise.resolve(true);
      pending.forEach(function (item) {
        chain = chain.then(function (go) { return go ? send(item) : false; });
      });
      return chain.then(function () { flushing = false; if (o.flushed) o.flushed(); },
        function () { flushing = false; });
    }
    function request(item) {  // the fetch of an item: JSON, or a form with its photos
      var target = o.target(item), path = target[0], headers = target[1] || {};
      if (!item.photos) {  // the shell sends a plain object as JSON
        return Promise.resolve([path, { method: "POST", body: item.body, headers: headers }]);
      }
      return getPhotos(item.key).then(function (blobs) {
        if (blobs.length !== item.photos) throw new Error(t("photos_lost"));
        var form = new FormData();
        Object.keys(item.body).forEach(function (k) {
          var v = item.body[k];
          if (v !== null && v !== undefined) form.append(k, String(v));
        });
        blobs.forEach(function (b, n) { form.append("photo", b, "photo-" + (n + 1) + ".jpg"); });
        return [path, { method: "POST", body: form, headers: headers }];
      });
    }
    function finish(item, changes) {
      update(item.key, changes);
      if (item.photos) dropPhotos(item.key);
      return true;
    }
    function send(item) {  // resolves to whether to go on with the next item
      if (navigator.onLine === false) return Promise.resolve(false);
      update(item.key, { state: "sent", attempts: (item.attempts || 0) + 1, error: null });
      return request(item).then(function (req) {
        return shell.request(req[0], req[1]);
      }, function (e) {
        finish(item, { state: "rejected", error: e.message || String(e) });
        return null;
      }).then(function (res) {
        if (res === null) return true;
        var body = res.body || {}, refused = { status: res.status, body: res.body };
        var ack = o.acknowledged ? o.acknowledged(item, res) : null;
        if (!ack && (res.status === 200 || res.status === 201)) ack = { id: body.id };
        if (ack) {
          return finish(item, Object.assign({ state: "acknowledged", acked: Date.now() }, ack));
        }
        if (res.status >= 500 || res.status === 408 || res.status === 429) {
          update(item.key, { state: "queued", error: refused });
          return false;
        }
        return finish(item, { state: "rejected", error: refused });
      }, function (e) {  // no connection (NetworkError) or signed out (AuthError): stays queued
        update(item.key, { state: "queued", error: e instanceof shell.AuthError ? null : "network" });
        return false;
      });
    }
    function clearDone() {
      save(load().filter(function (i) {
        var keep = i.user !== o.owner() || (i.state !== "acknowledged" && i.state !== "rejected");
        if (!keep && i.photos) dropPhotos(i.key);
        return keep;
      }));
      changed();
    }
    return { enqueue: enqueue, flush: flush, items: items, update: update, clearDone: clearDone };
  }

  Object.assign(shell, { outbox: outbox, uuid: uuid, pickedFiles: pickedFiles,
    renderPreviews: renderPreviews, refusal: refusal });
})();
