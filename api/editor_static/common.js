/* Shared by the planners' pages: login (token kept in localStorage), API calls, language,
 * the message box. Every path is relative to the page's <base>, the application root.
 *
 * The token comes from POST auth/token?session=true: the bearer token authorises the API
 * calls (a session cookie is honoured for GETs only) and the cookie it also sets lets the
 * plain links of the page (history JSON, maps) open in the same browser.
 */
(function () {
  "use strict";

  var KEYS = { token: "gridgeo.editor.token", user: "gridgeo.editor.user",
    lang: "gridgeo.editor.lang" };

  var STRINGS = {
    zh: { login: "登录", username: "账号", password: "密码", login_btn: "登录", logout: "退出",
      login_failed: "账号或密码错误", too_many: "登录失败次数过多，请稍后再试",
      network: "网络错误:", close: "关闭", denied: "此账号无权编辑规划（需要规划员或管理员）",
      server_error: "服务器错误" },
    en: { login: "Log in", username: "Account", password: "Password", login_btn: "Log in",
      logout: "Log out", login_failed: "Wrong account name or password",
      too_many: "Too many failed logins; try again later", network: "Network error:",
      close: "Close", denied: "This account may not edit plans (planner or admin needed)",
      server_error: "Server error" }
  };

  function $(id) { return document.getElementById(id); }

  function initialLang() {
    var asked = new URLSearchParams(location.search).get("lang");
    if (asked === "zh" || asked === "en") { localStorage.setItem(KEYS.lang, asked); return asked; }
    var kept = localStorage.getItem(KEYS.lang);
    return kept === "en" ? "en" : "zh";
  }

  var GG = {
    lang: initialLang(),
    config: {},
    me: null,
    onLang: [],
    $: $,
    strings: function (more) {
      ["zh", "en"].forEach(function (l) { Object.assign(STRINGS[l], more[l]); });
    },
    t: function (key, vars) {
      var s = STRINGS[GG.lang][key];
      if (s === undefined) s = STRINGS.zh[key] !== undefined ? STRINGS.zh[key] : key;
      if (vars) {
        Object.keys(vars).forEach(function (k) { s = s.split("{" + k + "}").join(vars[k]); });
      }
      return s;
    },
    esc: function (s) {
      return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
        return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
      });
    },
    token: function () { return localStorage.getItem(KEYS.token); },

    /* A JSON call: resolves to {ok, status, body}; a 401 shows the login form and rejects. */
    api: function (path, opts) {
      opts = opts || {};
      var headers = { Accept: "application/json" };
      if (GG.token()) headers.Authorization = "Bearer " + GG.token();
      var init = { method: opts.method || "GET", headers: headers };
      if (opts.body !== undefined) {
        headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(opts.body);
      }
      return fetch(path, init).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          if (r.status === 401) {
            localStorage.removeItem(KEYS.token);
            GG.showLogin();
            throw new GG.AuthError();
          }
          return { ok: r.ok, status: r.status, body: body };
        });
      });
    },
    AuthError: function () { this.name = "AuthError"; },

    /* The API's error as one sentence: "<error>: <message>" plus the grids it names. */
    describe: function (res) {
      var b = res.body || {};
      var text = b.message || b.detail || GG.t("server_error") + " " + res.status;
      if (typeof text !== "string") text = JSON.stringify(text);
      if (b.error) text = b.error + ": " + text;
      if (Array.isArray(b.grids) && b.grids.length) text += " [" + b.grids.join(", ") + "]";
      return text;
    },

    /* The visible message box (no blocking dialogs): kind is "error", "ok" or "info". */
    say: function (text, kind) {
      var box = $("message");
      box.hidden = false;
      box.dataset.kind = kind || "info";
      $("message-text").textContent = text;
    },
    hush: function () { $("message").hidden = true; $("message-text").textContent = ""; },
    fail: function (err) {
      if (err instanceof GG.AuthError) return;
      GG.say(GG.t("network") + " " + (err && err.message ? err.message : String(err)), "error");
    },

    applyLang: function () {
      document.documentElement.lang = GG.lang === "zh" ? "zh-CN" : "en";
      Array.prototype.forEach.call(document.querySelectorAll("[data-i18n]"), function (el) {
        el.textContent = GG.t(el.getAttribute("data-i18n"));
      });
      Array.prototype.forEach.call(document.querySelectorAll("[data-i18n-ph]"), function (el) {
        el.placeholder = GG.t(el.getAttribute("data-i18n-ph"));
      });
      $("lang").value = GG.lang;
      GG.onLang.forEach(function (f) { f(); });
    },

    showLogin: function () {
      $("app").hidden = true;
      $("login").hidden = false;
      $("who").textContent = "";
    },

    /* Check the kept token (auth/me), else ask for a login; then call ready(me). */
    start: function (ready) {
      GG.config = JSON.parse(document.body.dataset.config || "{}");
      $("lang").addEventListener("change", function () {
        GG.lang = $("lang").value;
        localStorage.setItem(KEYS.lang, GG.lang);
        GG.applyLang();
      });
      $("message-close").addEventListener("click", GG.hush);
      $("logout").addEventListener("click", function () {
        var tok = GG.token();
        localStorage.removeItem(KEYS.token);
        if (tok) {
          fetch("auth/logout", { method: "POST", headers: { Authorization: "Bearer " + tok } })
            .catch(function () {});
        }
        GG.showLogin();
      });
      function enter() {
        GG.api("auth/me").then(function (res) {
          if (!res.ok) { GG.say(GG.describe(res), "error"); return; }
          GG.me = res.body;
          if (GG.me.role !== "planner" && GG.me.role !== "admin") GG.say(GG.t("denied"), "error");
          $("login").hidden = true;
          $("app").hidden = false;
          $("who").textContent = GG.me.name + " · " + GG.me.role;
          ready(GG.me);
        }).catch(GG.fail);
      }
      $("login-form").addEventListener("submit", function (ev) {
        ev.preventDefault();
        $("login-error").textContent = "";
        var form = new URLSearchParams();
        form.set("username", $("username").value.trim());
        form.set("password", $("password").value);
        fetch("auth/token?session=true", { method: "POST", body: form }).then(function (r) {
          return r.json().catch(function () { return {}; }).then(function (body) {
            if (!r.ok) {
              $("login-error").textContent = r.status === 429 ? GG.t("too_many") : GG.t("login_failed");
              return;
            }
            localStorage.setItem(KEYS.token, body.access_token);
            localStorage.setItem(KEYS.user, $("username").value.trim());
            $("password").value = "";
            enter();
          });
        }).catch(function (e) { $("login-error").textContent = GG.t("network") + " " + e; });
      });
      GG.applyLang();
      if (GG.token()) enter(); else GG.showLogin();
    }
  };

  window.GG = GG;
})();
