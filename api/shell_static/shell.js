/* gridgeo's front-end shell: one login, one token, one fetch, one language, one header.
 *
 * Why it exists: the desk (/desk), the phone page (/report), the planners' pages (/plans/editor,
 * /plans/{id}/edit) and /login each carried a login form, a fetch wrapper and an i18n table of
 * their own, and they had drifted: three token keys (a login on one page did not count on the
 * next), refusals shown as the server's English or a bare status, times in the browser's own
 * zone without saying so. These rules now live here once; a page keeps only what is its own.
 *
 * One classic script with one global (window.gridgeoShell), loaded before the page's scripts:
 * no build step and no module loader, and every path stays relative to the page's <base> (the
 * application root), so the pages work behind a path prefix and with no internet.
 *
 * What a page provides:
 *   - shell-static/shell.css before its own styles, shell-static/shell.js before its scripts;
 *   - <header id="shell-header" data-title="KEY">, empty or holding the page's own header items
 *     (they stay between the title and the user); the shell adds the title (t(KEY), also the
 *     document's title), the user, the language switch, the logout button, and under the
 *     header the message bar (#message, see say());
 *   - #app, what a signed-in account sees (hidden until then); the login form goes before it;
 *   - its strings in Chinese and English: gridgeoShell.strings({zh: {...}, en: {...}}); an
 *     element with data-i18n="key" (text) or data-i18n-ph="key" (placeholder) follows the
 *     language;
 *   - one call to gridgeoShell.start(options): ready(me) runs when an account is signed in
 *     (again after each new login), signedOut() when the login form shows, onLang() when the
 *     language changes (to redraw the page's own text). offline: true starts the page with the
 *     last account when the server cannot be reached (the phone's outbox works offline);
 *     ask: true shows the login form even with a kept token (/login, whose job is the cookie);
 *     public: true never asks for a login (the residents' page /resident: anyone, no account).
 *
 * What the shell provides (gridgeoShell.*):
 *   i18n   t(key, vars) (dotted keys reach nested tables), label(group, key), lang, setLang(),
 *          noteText(parts, note, lang?) (a timeline note the system wrote, from its parts),
 *          strings(), onLang(f), apply() (after drawing new data-i18n elements), time(value, opts). The language is ?lang=, else the stored
 *          choice, else the browser's; <html lang> follows it. Times are China time
 *          (Asia/Shanghai) whatever the browser's zone; t("shell.tz") is their label.
 *   auth   token(), me, logout(). One localStorage key for every page (gridgeo.token) and the
 *          signed-in account (gridgeo.account). The form posts to auth/token?session=true, which
 *          also sets the HttpOnly cookie that the read-only map pages and plain links accept.
 *   fetch  send(path, opts) → Response; request(path, opts) → {ok, status, body};
 *          api(path, opts) → body, or rejects with an ApiError (errorOf(res) makes one of a
 *          request() result). Each adds the bearer token and sends a plain-object body as
 *          JSON; a 401 forgets the token, shows the login form and rejects with AuthError; a
 *          connection that fails rejects with NetworkError (the phone page keeps such reports
 *          queued). describe(status, body) makes an error body (see api/errors.py: {error,
 *          code, message, messages: {en, zh?}, field?, problems?}) one sentence in the page's language that names the
 *          field.
 *   show   show(element, what) and say(what, kind): what is a string, an Error, or {key, vars};
 *          errors and keys are redrawn when the language changes.
 *   dom    $(id), el(tag, attrs, text), esc(text).
 */
(function () {
  "use strict";

  var KEYS = { token: "gridgeo.token", account: "gridgeo.account", lang: "gridgeo.lang" };
  var LANGS = ["zh", "en"];
  var ZONE = "Asia/Shanghai";

  var TABLES = {
    zh: {
      shell: { login: "登录", username: "账号", password: "密码", login_btn: "登录",
        logout: "退出", login_failed: "账号或密码错误", too_many: "登录失败次数过多，请稍后再试",
        network: "无法连接服务器（网络故障），请检查网络后重试", close: "关闭", tz: "北京时间",
        signed_out: "请先登录", offline_account: "离线", comma: "、",
        expired: "登录已过期，请重新登录",
        expired_waiting: "登录已过期，请重新登录；还有 {n} 条上报等待发送，登录后自动发送",
        with_field: "{lead}（字段：{fields}）", detail: "{lead}：{message}",
        status: { 400: "输入有误", 401: "请先登录", 403: "无权访问或操作", 404: "未找到",
          409: "与当前状态冲突", 413: "内容过大", 422: "输入有误",
          429: "请求过于频繁，请稍后再试", 503: "服务暂不可用", "4xx": "请求被拒绝",
          "5xx": "服务器错误" },
        role: { admin: "管理员", planner: "规划员", dispatcher: "调度员", patrol: "网格员",
          viewer: "查看员", volunteer: "志愿者" },
        note: { escalated: "{why}，升至第 {level} 级队列 {queue}", overdue_accept: "超时未受理",
          overdue_resolve: "超时未处置", major: "重大事件", accept: "未受理", resolve: "未处置",
          moved: "网格 {from} → {to}", queue_moved: "队列 {from} → {to}",
          confirmed: "确认归属网格 {grid}", change: "（边界变更 #{change}）", said: "：{note}",
          named: "{name}（{code}）" } },
      field: { lon: "经度", lat: "纬度", category: "类别", description: "描述", note: "说明",
        rating: "评价", grid: "网格", department: "处置单位", assignee: "处置人", photo: "照片",
        area: "区域", title: "标题", message: "说明", name: "名称", code: "编码",
        password: "密码", username: "账号", role: "角色", limit: "条数", accuracy_m: "精度",
        coord_system: "坐标系", state: "状态", queue: "队列", action: "操作", location: "位置" }
    },
    en: {
      shell: { login: "Log in", username: "Account", password: "Password", login_btn: "Log in",
        logout: "Log out", login_failed: "Wrong account name or password",
        too_many: "Too many failed logins; try again later",
        network: "Cannot reach the server (network failure); check the connection and retry",
        close: "Close", tz: "China time", signed_out: "Please log in", offline_account: "offline",
        expired: "Your session has expired; please log in again",
        expired_waiting: "Your session has expired; log in again and the {n} reports waiting " +
          "will be sent",
        comma: ", ", with_field: "{lead} (field: {fields})", detail: "{lead}: {message}",
        status: { 400: "Invalid input", 401: "Please log in", 403: "Not allowed", 404: "Not found",
          409: "Conflicts with the current state", 413: "Too large", 422: "Invalid input",
          429: "Too many requests; try again later", 503: "Service unavailable",
          "4xx": "Refused", "5xx": "Server error" },
        role: { admin: "admin", planner: "planner", dispatcher: "dispatcher", patrol: "grid worker",
          viewer: "viewer", volunteer: "volunteer" },
        note: { escalated: "{why}: up to the level {level} queue {queue}",
          overdue_accept: "not accepted in time", overdue_resolve: "not resolved in time",
          major: "major incident", accept: "not accepted", resolve: "not resolved",
          moved: "grid {from} → {to}", queue_moved: "queue {from} → {to}",
          confirmed: "grid {grid} confirmed", change: " (boundary change #{change})",
          said: ": {note}", named: "{name} ({code})" } },
      field: { lon: "longitude", lat: "latitude", category: "category", description: "description",
        note: "note", rating: "rating", grid: "grid", department: "department",
        assignee: "assignee", photo: "photo", area: "area", title: "title", message: "message",
        name: "name", code: "code", password: "password", username: "account", role: "role",
        limit: "limit", accuracy_m: "accuracy", coord_system: "coordinate system",
        state: "state", queue: "queue", action: "action", location: "location" }
    }
  };

  var S = window.gridgeoShell = { lang: "zh", me: null, offline: false };
  var options = {}, langListeners = [], shown = [];

  /* ---- DOM helpers ------------------------------------------------------------------------ */
  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  /* ---- i18n ------------------------------------------------------------------------------- */
  function lookup(table, key) {
    var v = table, parts = String(key).split(".");
    for (var i = 0; i < parts.length; i++) {
      if (v === null || typeof v !== "object") return undefined;
      v = v[parts[i]];
    }
    return v;
  }
  function t(key, vars) {
    var s = lookup(TABLES[S.lang], key);
    if (s === undefined) s = lookup(TABLES.zh, key);
    if (s === undefined) return key;
    if (typeof s === "string" && vars) {
      s = s.replace(/\{(\w+)\}/g, function (m, k) {
        return vars[k] === undefined || vars[k] === null ? m : String(vars[k]);
      });
    }
    return s;
  }
  /* A timeline note the system wrote, said from its parts (gridgeo/incidents/notes.py) in the
   * language lang (default: the page's), areas named beside their codes; a person's own note,
   * or one without parts, as written. */
  function noteText(parts, note, lang) {
    if (!parts) return note || "";
    var table = TABLES[lang || S.lang] || TABLES.zh;
    var w = function (key, vars) {
      var s = lookup(table, "shell.note." + key);
      if (typeof s !== "string") s = lookup(TABLES.zh, "shell.note." + key) || key;
      return s.replace(/\{(\w+)\}/g, function (m, k) {
        return vars && vars[k] !== undefined && vars[k] !== null ? String(vars[k]) : m;
      });
    };
    var names = parts.names || {};
    var area = function (code) {
      return names[code] ? w("named", { name: names[code], code: code }) : code;
    };
    var s;
    if (parts.kind === "escalated") {
      var why = parts.overdue ? "overdue_" + parts.why : parts.why;
      var said = lookup(table, "shell.note." + why);
      s = w("escalated", { why: typeof said === "string" ? said : parts.why, level: parts.level,
        queue: area(parts.queue) });
    } else if (parts.kind === "confirmed") {
      s = w("confirmed", { grid: area(parts.grid) });
    } else if (parts.kind === "moved" || parts.kind === "queue_moved") {
      s = w(parts.kind, { from: area(parts.from), to: area(parts.to) });
    } else {
      return note || "";
    }
    if (parts.change) s += w("change", { change: parts.change });
    if (parts.note) s += w("said", { note: parts.note });
    return s;
  }
  /* The text of key in group ("states", "reported"), or the key itself when none is known. */
  function label(group, key) {
    var s = lookup(TABLES[S.lang], group + "." + key);
    if (s === undefined) s = lookup(TABLES.zh, group + "." + key);
    return typeof s === "string" ? s : String(key);
  }
  function merge(into, more) {
    Object.keys(more || {}).forEach(function (k) {
      var v = more[k];
      if (v && typeof v === "object" && into[k] && typeof into[k] === "object") merge(into[k], v);
      else into[k] = v;
    });
  }
  function strings(more) { LANGS.forEach(function (l) { merge(TABLES[l], more[l]); }); }

  function initialLang() {
    var asked = new URLSearchParams(location.search).get("lang");
    if (LANGS.indexOf(asked) >= 0) { localStorage.setItem(KEYS.lang, asked); return asked; }
    var kept = localStorage.getItem(KEYS.lang);
    if (LANGS.indexOf(kept) >= 0) return kept;
    // a page for the public (residents) speaks its own language first: <html data-lang="zh">
    var fixed = document.documentElement.getAttribute("data-lang");
    if (LANGS.indexOf(fixed) >= 0) return fixed;
    var wanted = navigator.languages && navigator.languages.length ? navigator.languages
      : [navigator.language || ""];
    for (var i = 0; i < wanted.length; i++) {
      var l = String(wanted[i]).toLowerCase().slice(0, 2);
      if (LANGS.indexOf(l) >= 0) return l;
    }
    return "zh";  // the cities' language
  }
  /* The data-i18n texts and placeholders in the page's language (also for elements a page has
   * just drawn: gridgeoShell.apply()). */
  function applyTexts() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n]"), function (e) {
      e.textContent = t(e.getAttribute("data-i18n"));
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n-ph]"), function (e) {
      e.placeholder = t(e.getAttribute("data-i18n-ph"));
    });
  }
  function applyLang() {
    document.documentElement.lang = S.lang === "zh" ? "zh-CN" : "en";
    if (options.title) document.title = t(options.title);
    applyTexts();
    if ($("lang")) $("lang").value = S.lang;
    renderWho();
    shown = shown.filter(function (e) { return e.isConnected && e.__shellShown !== undefined; });
    shown.forEach(render);
    langListeners.forEach(function (f) { f(S.lang); });
  }
  function setLang(l) {
    if (LANGS.indexOf(l) < 0) return;
    S.lang = l;
    localStorage.setItem(KEYS.lang, l);
    applyLang();
  }

  /* China time, "2026-05-14 09:30", whatever the browser's zone; "—" for none.
   * opts: year (default true), seconds (default false), date (default true), label (append
   * "北京时间" / "China time"). */
  var clock = null;
  function time(value, opts) {
    if (value === null || value === undefined || value === "") return "—";
    var d = value instanceof Date ? value : new Date(value);
    if (isNaN(d.getTime())) return String(value);
    opts = opts || {};
    if (!clock) {
      clock = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, year: "numeric",
        month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
        second: "2-digit", hourCycle: "h23" });
    }
    var p = {};
    clock.formatToParts(d).forEach(function (x) { p[x.type] = x.value; });
    var day = (opts.year === false ? "" : p.year + "-") + p.month + "-" + p.day;
    var s = (opts.date === false ? "" : day + " ") + p.hour + ":" + p.minute +
      (opts.seconds ? ":" + p.second : "");
    return opts.label ? s + " " + t("shell.tz") : s;
  }

  /* ---- errors ----------------------------------------------------------------------------- */
  function fieldsOf(body) {
    var out = [];
    function add(f) {
      f = String(f || "");
      if (f && f !== "request" && out.indexOf(f) < 0) out.push(f);
    }
    if (body.field) add(body.field);
    if (Array.isArray(body.problems)) {
      body.problems.forEach(function (p) {  // "lon: Input should be ..." (api/errors.py)
        if (typeof p === "string" && p.indexOf(":") > 0) add(p.slice(0, p.indexOf(":")));
      });
    }
    return out;
  }
  /* An error answer as one sentence in the page's language: what kind of refusal, the field
   * it names, then the server's own words (and the grids it names). */
  function describe(status, body) {
    var b = body && typeof body === "object" ? body : { message: body ? String(body) : "" };
    var lead = lookup(TABLES[S.lang], "shell.status." + status);
    if (lead === undefined) lead = t(status >= 500 ? "shell.status.5xx" : "shell.status.4xx");
    var fields = fieldsOf(b).map(function (f) { return label("field", f); });
    var s = fields.length ? t("shell.with_field", { lead: lead, fields: fields.join(t("shell.comma")) })
      : lead;
    // the server's words in the page's language when it gave them (api/errors.py: messages,
    // beside the machine-readable code), else its English message
    var own = b.messages && typeof b.messages[S.lang] === "string" ? b.messages[S.lang] : null;
    var said = own !== null ? own : typeof b.message === "string" ? b.message
      : typeof b.detail === "string" ? b.detail : b.detail ? JSON.stringify(b.detail) : "";
    if (said) s = t("shell.detail", { lead: s, message: said });
    if (Array.isArray(b.grids) && b.grids.length) s += " [" + b.grids.join(", ") + "]";
    return s;
  }
  function ApiError(status, body) {
    this.name = "ApiError"; this.status = status; this.body = body || {};
  }
  function AuthError() { this.name = "AuthError"; this.status = 401; }
  function NetworkError(cause) { this.name = "NetworkError"; this.cause = cause; }
  [ApiError, AuthError, NetworkError].forEach(function (E) {
    E.prototype = Object.create(Error.prototype);
    E.prototype.constructor = E;
  });
  ApiError.prototype.describe = function () { return describe(this.status, this.body); };
  AuthError.prototype.describe = function () { return t("shell.signed_out"); };
  NetworkError.prototype.describe = function () { return t("shell.network"); };
  [ApiError, AuthError, NetworkError].forEach(function (E) {  // always in the page's language
    Object.defineProperty(E.prototype, "message", { get: function () { return this.describe(); } });
  });

  /* ---- showing messages ------------------------------------------------------------------- */
  function textOf(what) {
    if (what === null || what === undefined) return "";
    if (typeof what === "string") return what;
    if (typeof what.describe === "function") return what.describe();
    if (what instanceof Error) return what.message || String(what);
    if (what.key) return t(what.key, what.vars);
    return String(what);
  }
  function render(e) { e.textContent = textOf(e.__shellShown); }
  /* Put what (a string, an Error, {key, vars}; null clears) into element e; errors and keys
   * follow the language. */
  function show(e, what) {
    if (typeof e === "string") e = $(e);
    if (!e) return;
    e.__shellShown = what === "" ? null : what;
    if (shown.indexOf(e) < 0) shown.push(e);
    render(e);
  }
  /* The message bar under the header; kind is "error", "ok" or "info". */
  function say(what, kind) {
    var box = $("message");
    box.hidden = false;
    box.dataset.kind = kind || "info";
    show($("message-text"), what);
  }
  function hush() { $("message").hidden = true; show($("message-text"), null); }
  /* A failed call's catch: nothing for AuthError (the login form is showing), else say it. */
  function fail(err) {
    if (err instanceof AuthError) return;
    say(err instanceof Error || (err && err.describe) ? err : String(err), "error");
  }

  /* ---- fetch ------------------------------------------------------------------------------ */
  function token() { return localStorage.getItem(KEYS.token); }
  function plainObject(b) {
    return b !== null && typeof b === "object" && Object.getPrototypeOf(b) === Object.prototype;
  }
  /* fetch with the bearer token; opts: method, headers, body (a plain object goes as JSON). */
  function send(path, opts) {
    opts = opts || {};
    var headers = Object.assign({ Accept: "application/json" }, opts.headers || {});
    if (token()) headers.Authorization = "Bearer " + token();
    var init = { method: opts.method || "GET", headers: headers };
    if (opts.body !== undefined) {
      if (plainObject(opts.body) || Array.isArray(opts.body)) {
        headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(opts.body);
      } else {
        init.body = opts.body;
      }
    }
    return fetch(path, init).then(function (r) {
      if (r.status === 401) {
        // a token the server no longer takes has expired: say so, keep the account's name and
        // what the page still has to send (options.waiting(), e.g. the phone's outbox)
        var why = token() ? { name: S.me && S.me.name,
          waiting: options.waiting ? options.waiting() : 0 } : null;
        forget(); showLogin(why); throw new AuthError();
      }
      return r;
    }, function (e) { throw new NetworkError(e); });
  }
  function parse(r) {
    var type = r.headers.get("content-type") || "";
    var body = type.indexOf("json") >= 0 ? r.json().catch(function () { return {}; })
      : r.text().catch(function () { return ""; });
    return body.then(function (b) { return { ok: r.ok, status: r.status, body: b }; });
  }
  /* Resolves to {ok, status, body} for any answer. */
  function request(path, opts) { return send(path, opts).then(parse); }
  /* The ApiError of a request() result that was not ok. */
  function errorOf(res) { return new ApiError(res.status, res.body); }
  /* Resolves to the body of a 2xx answer; rejects with ApiError for any other. */
  function api(path, opts) {
    return request(path, opts).then(function (res) {
      if (!res.ok) throw new ApiError(res.status, res.body);
      return res.body;
    });
  }

  /* ---- the header and the login form ------------------------------------------------------ */
  function renderWho() {
    var who = $("who");
    if (!who) return;
    var me = S.me;
    who.textContent = me ? me.name + " · " + label("shell.role", me.role) +
      (S.offline ? " · " + t("shell.offline_account") : "") : "";
  }
  function buildHeader() {
    var bar = $("shell-header");
    if (!bar) {
      bar = el("header", { id: "shell-header" });
      document.body.insertBefore(bar, document.body.firstChild);
    }
    options.title = options.title || bar.getAttribute("data-title") || "";
    bar.classList.add("shell-bar");
    var extra = el("div", { "class": "shell-extra" });
    while (bar.firstChild) extra.appendChild(bar.firstChild);
    bar.appendChild(el("h1", { id: "shell-title", "data-i18n": options.title }));
    bar.appendChild(extra);
    bar.appendChild(el("span", { id: "who", "class": "shell-who" }));
    var lang = el("select", { id: "lang", "aria-label": "language / 语言" });
    lang.appendChild(el("option", { value: "zh" }, "中文"));
    lang.appendChild(el("option", { value: "en" }, "English"));
    lang.addEventListener("change", function () { setLang(lang.value); });
    bar.appendChild(lang);
    var out = el("button", { type: "button", id: "logout", "data-i18n": "shell.logout" });
    out.hidden = true;
    out.addEventListener("click", logout);
    bar.appendChild(out);

    var box = el("div", { id: "message", "class": "shell-message", role: "alert" });
    box.hidden = true;
    box.appendChild(el("span", { id: "message-text" }));
    var close = el("button", { type: "button", id: "message-close", "data-i18n": "shell.close" });
    close.addEventListener("click", hush);
    box.appendChild(close);
    bar.parentNode.insertBefore(box, bar.nextSibling);
  }
  function buildLogin() {
    var section = el("section", { id: "login", "class": "shell-login" });
    section.hidden = true;
    section.innerHTML =
      '<h2 data-i18n="shell.login"></h2>' +
      '<form id="login-form" autocomplete="on">' +
      '<label><span data-i18n="shell.username"></span>' +
      '<input id="username" name="username" autocomplete="username" autocapitalize="none" ' +
      "required></label>" +
      '<label><span data-i18n="shell.password"></span>' +
      '<input id="password" name="password" type="password" ' +
      'autocomplete="current-password" required></label>' +
      '<button type="submit" class="primary" data-i18n="shell.login_btn"></button>' +
      '<p id="login-error" class="shell-error" role="alert"></p></form>';
    var app = $("app");
    if (app) app.parentNode.insertBefore(section, app);
    else $("message").parentNode.insertBefore(section, $("message").nextSibling);
    $("login-form").addEventListener("submit", login);
  }

  function forget() {
    localStorage.removeItem(KEYS.token);
    localStorage.removeItem(KEYS.account);
  }
  function showLogin(why) {
    S.me = null; S.offline = false;
    if ($("app")) $("app").hidden = true;
    $("login").hidden = false;
    $("logout").hidden = true;
    renderWho();
    if (why) {
      if (why.name && $("username") && !$("username").value) $("username").value = why.name;
      show($("login-error"), why.waiting ? { key: "shell.expired_waiting", vars: { n: why.waiting } }
        : { key: "shell.expired" });
    }
    if (options.signedOut) options.signedOut();
  }
  function signedIn(me, offline) {
    S.me = me; S.offline = !!offline;
    $("login").hidden = true;
    show($("login-error"), null);
    if ($("app")) $("app").hidden = false;
    $("logout").hidden = false;
    renderWho();
    if (options.ready) options.ready(me);
  }
  /* Who holds the kept token (auth/me); offline pages fall back on the account kept with it. */
  function enter() {
    return api("auth/me").then(function (me) {
      localStorage.setItem(KEYS.account, JSON.stringify(me));
      signedIn(me, false);
    }).catch(function (e) {
      if (e instanceof AuthError) return;
      var kept = null;
      try { kept = JSON.parse(localStorage.getItem(KEYS.account) || "null"); } catch (x) { kept = null; }
      if (e instanceof NetworkError && options.offline && kept && token()) {
        signedIn(kept, true);
        return;
      }
      showLogin();
      show($("login-error"), e);
    });
  }
  function login(ev) {
    ev.preventDefault();
    show($("login-error"), null);
    var form = new URLSearchParams();
    form.set("username", $("username").value.trim());
    form.set("password", $("password").value);
    var button = $("login-form").querySelector("button[type=submit]");
    button.disabled = true;
    fetch("auth/token?session=true", { method: "POST", body: form }).then(function (r) {
      return parse(r).then(function (res) {
        if (!res.ok) {
          var why = res.status === 401 ? { key: "shell.login_failed" }
            : res.status === 429 ? { key: "shell.too_many" } : new ApiError(res.status, res.body);
          show($("login-error"), why);
          return null;
        }
        localStorage.setItem(KEYS.token, res.body.access_token);
        $("password").value = "";
        return enter();
      });
    }, function (e) {
      show($("login-error"), new NetworkError(e));
    }).then(function () { button.disabled = false; });
  }
  /* Revoke the token (and the cookie) on the server, forget it here, show the login form. */
  function logout() {
    var tok = token();
    forget();
    if (tok) {
      fetch("auth/logout", { method: "POST", headers: { Authorization: "Bearer " + tok } })
        .catch(function () {});
    }
    showLogin();
  }

  /* Build the header and the login form, draw the page's language, then sign in. */
  function start(opts) {
    options = Object.assign(options, opts || {});
    buildHeader();
    if (options.public) {  // a page for anyone (/resident): no login, no account
      applyLang();
      if ($("app")) $("app").hidden = false;
      if (options.ready) options.ready(null);
      return;
    }
    buildLogin();
    applyLang();
    if (token() && !options.ask) enter(); else showLogin();
  }

  S.lang = initialLang();
  Object.assign(S, {
    $: $, el: el, esc: esc, t: t, label: label, noteText: noteText, strings: strings,
    setLang: setLang, time: time,
    apply: applyTexts,
    onLang: function (f) { langListeners.push(f); }, describe: describe, show: show, say: say,
    hush: hush, fail: fail, token: token, send: send, request: request, api: api, errorOf: errorOf,
    logout: logout, start: start, ApiError: ApiError, AuthError: AuthError,
    NetworkError: NetworkError
  });
})();
