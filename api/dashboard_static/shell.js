/* The dashboard's sign-in, data calls and languages, kept in this one file so that it can be
 * replaced by the shared front-end shell (api/shell_static) when that lands.
 *
 * Sign-in: the read-only session cookie that /login sets (a bearer header, as the tests send,
 * works too); a 401 sends the browser to /login and back here. Data calls: GET JSON, the
 * server's message shown for a refusal. Languages: zh (default) and en, chosen by ?lang=, else
 * the last choice (localStorage), applied to every [data-i18n] element.
 */
window.Shell = (function () {
  "use strict";

  var KEY = "gridgeo.lang";
  var dict = { zh: {}, en: {} };
  var fromUrl = new URLSearchParams(location.search).get("lang");
  var lang = fromUrl || localStorage.getItem(KEY) || "zh";
  if (lang !== "zh" && lang !== "en") lang = "zh";

  function t(key) {
    var d = dict[lang] || {};
    return d[key] !== undefined ? d[key] : key;
  }

  function apply(root) {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    (root || document).querySelectorAll("[data-i18n]").forEach(function (e) {
      e.textContent = t(e.getAttribute("data-i18n"));
    });
  }

  function login() {
    location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
  }

  function api(path) {
    return fetch(path, { credentials: "same-origin" }).then(function (r) {
      if (r.status === 401) { login(); throw new Error(t("signed_out")); }
      return r.json().catch(function () { return {}; }).then(function (b) {
        if (!r.ok) throw new Error((b && (b.message || b.detail)) || r.status + " " + r.statusText);
        return b;
      });
    });
  }

  return {
    get lang() { return lang; },
    words: function (zh, en) { dict = { zh: zh, en: en }; },
    t: t,
    apply: apply,
    setLang: function (l) { lang = l; localStorage.setItem(KEY, l); apply(); },
    api: api,
    me: function () { return api("/auth/me"); },
    login: login
  };
})();
