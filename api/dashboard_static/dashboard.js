/* The leaders' dashboard: the evaluation of an area for a month, against the month before; a
 * year's trend by month (or twelve weeks by week) of the rates; categories and states; the map and ranking of the areas below, drilled into by
 * a click; departments and (for roles that see names) workers; where the overdue work is.
 *
 * Everything comes from the evaluation API (GET /evaluation, /evaluation/trend, /states,
 * /figures) through the shared shell's api (api/shell_static/shell.js), so the page shows what
 * the account may see. Charts:
 * Apache ECharts (vendored, offline). window.gridgeoDashboard holds what was drawn (tests).
 */
(function () {
  "use strict";

  var S = window.gridgeoShell;
  S.strings({ zh: {
    title: "网格化管理综合评价", nav_maps: "地图", nav_incidents: "事件地图", nav_desk: "调度台",
    period: "月份", ranking_level: "排名层级", workbook: "下载月度评价表", csv: "下载排名 CSV",
    trend: "趋势", bucket_month: "近12个月，按月", bucket_week: "近12周，按周", by_category: "分类别", by_state: "本月上报事件的当前状态",
    map: "评价地图", map_hint: "点击地图上的区域或排名中的一行，下钻一级", ranking: "排名",
    overdue_areas: "当前超期最多的区域", overdue_departments: "当前超期最多的部门",
    departments: "联动处置单位", workers: "网格员", all: "全部", vs: "较上月", none: "—",
    signed_out: "请先登录", rank: "名次", name: "名称", loading: "加载中…",
    note: "{from} 至 {to}；评分权重：{weights}；按期结案率以原定时限计，定义见 /evaluation/figures",
    reported_bar: "上报数", states: { reported: "已上报", accepted: "已受理", dispatched: "已派遣",
      in_progress: "处置中", resolved: "已办结", verified: "已核查", closed: "已结案" }
  }, en: {
    title: "Evaluation of the closed loop", nav_maps: "Maps", nav_incidents: "Incidents",
    nav_desk: "Desk", period: "Month", ranking_level: "Ranking level",
    workbook: "Download the month's workbook", csv: "Ranking as CSV",
    trend: "Trend", bucket_month: "Last 12 months, by month",
    bucket_week: "Last 12 weeks, by week", by_category: "By category",
    by_state: "This month's incidents by state now", map: "Map",
    map_hint: "Click an area on the map or a row of the ranking to drill down one level",
    ranking: "Ranking", overdue_areas: "Most overdue areas now",
    overdue_departments: "Most overdue departments now", departments: "Linked departments",
    workers: "Workers", all: "all", vs: "vs last month", none: "—", signed_out: "please log in",
    rank: "Rank", name: "Name", loading: "Loading…",
    note: "{from} to {to}; score weights: {weights}; on time counts against the original limit; definitions at /evaluation/figures",
    reported_bar: "reported", states: { reported: "reported", accepted: "accepted",
      dispatched: "dispatched", in_progress: "in progress", resolved: "resolved",
      verified: "verified", closed: "closed" }
  } });

  var HEADLINE = ["score", "reported", "closure_rate", "on_time_rate", "rework_rate",
    "extension_rate", "mean_rating", "satisfied_share", "resident_rated_share", "in_grid_rate",
    "in_community_rate", "resolve_hours_median", "overdue_now"];  // residents' share: issue 21
  var LOWER_IS_BETTER = { rework_rate: 1, extension_rate: 1, overdue_now: 1, open_at_end: 1,
    resolve_hours_median: 1, resolve_hours_mean: 1, accept_hours_median: 1, accept_hours_mean: 1 };
  var NEUTRAL = { reported: 1 };  // more reports is neither better nor worse
  var AREA_COLS = ["grade", "score", "reported", "due", "closure_rate", "on_time_rate",
    "mean_rating", "in_grid_rate", "overdue_now"];
  var DEP_COLS = ["grade", "score", "due", "closure_rate", "on_time_rate", "extension_rate",
    "resolve_hours_median", "overdue_now"];
  var MAP_FIGURES = ["score", "closure_rate", "on_time_rate", "satisfied_share", "mean_rating",
    "in_grid_rate", "rework_rate", "extension_rate", "overdue_now"];

  var st = { me: null, levels: [], figures: {}, weights: {}, categories: {}, parent: "",
    level: null, period: null, figure: "score", bucket: "month", charts: {}, data: {} };
  window.gridgeoDashboard = st.data;

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function label(key) {
    var f = st.figures[key];
    if (!f) return S.t(key);
    return S.lang === "zh" ? f.zh : f.en.charAt(0).toUpperCase() + f.en.slice(1);
  }
  function show(key, v) {
    if (v === null || v === undefined) return S.t("none");
    var kind = (st.figures[key] || {}).kind;
    if (kind === "rate") return (100 * v).toFixed(1) + "%";
    if (kind === "hours" || kind === "score") return Number(v).toFixed(1);
    if (kind === "rating") return Number(v).toFixed(2);
    return String(v);
  }
  function levelOf(code) {
    return st.levels.filter(function (l) { return l.code_length === code.length; })[0] || null;
  }
  function levelLabel(l) { return S.lang === "zh" ? l.label_zh : l.label_en; }
  function ymd(d) { return d.toISOString().slice(0, 10); }

  /* --- periods: the chosen month, the one before, the twelve to it -------------------------- */
  function monthShift(period, k) {
    var y = Number(period.slice(0, 4)), m = Number(period.slice(5, 7)) - 1 + k;
    y += Math.floor(m / 12); m = ((m % 12) + 12) % 12;
    return y + "-" + (m < 9 ? "0" : "") + (m + 1);
  }
  function mondayBefore(day, back) {  // the Monday on or before ``day`` minus ``back`` days
    var d = new Date(Date.parse(day + "T00:00:00Z") - back * 864e5);
    d.setUTCDate(d.getUTCDate() - (d.getUTCDay() + 6) % 7);
    return ymd(d);
  }
  function lastDay(period) {
    var d = new Date(Date.UTC(Number(period.slice(0, 4)), Number(period.slice(5, 7)), 0));
    return ymd(d);
  }

  /* --- state in the address bar -------------------------------------------------------------- */
  function saveUrl() {
    var q = new URLSearchParams();
    if (st.parent) q.set("area", st.parent);
    q.set("period", st.period);
    if (st.level) q.set("level", st.level);
    if (st.bucket === "week") q.set("bucket", "week");
    if (S.lang === "en") q.set("lang", "en");
    history.replaceState(null, "", "?" + q.toString());
  }

  // The query of a data call: the month (unless from/to are given), the area, ``extra``.
  function q(extra) {
    var p = new URLSearchParams();
    extra = extra || {};
    if (!extra.from) p.set("period", st.period);
    if (st.parent) p.set("parent", st.parent);
    Object.keys(extra).forEach(function (k) { if (extra[k]) p.set(k, extra[k]); });
    return p.toString();
  }

  /* --- drawing -------------------------------------------------------------------------------- */
  function crumbs() {
    var box = $("crumbs"), lv = st.parent ? levelOf(st.parent) : null;
    box.innerHTML = "";
    var chain = [];
    st.levels.forEach(function (l) {
      if (lv && l.depth <= lv.depth) chain.push(st.parent.slice(0, l.code_length));
    });
    var mine = (st.me.areas || [])[0] || "";
    chain = chain.filter(function (c) { return c.length >= mine.length; });
    if (!mine) {
      var all = el("a", { href: "#" }, S.t("all"));
      all.addEventListener("click", function (e) { e.preventDefault(); go(""); });
      box.appendChild(all);
    }
    chain.forEach(function (code, i) {
      if (i > 0 || !mine) box.appendChild(document.createTextNode(" › "));
      var last = i === chain.length - 1;
      var item = el(last ? "b" : "a", last ? {} : { href: "#" }, code);
      item.setAttribute("data-code", code);
      if (!last) item.addEventListener("click", function (e) { e.preventDefault(); go(code); });
      box.appendChild(item);
      S.api("/maps/search?limit=1&q=" + encodeURIComponent(code)).then(function (found) {
        if (found[0] && found[0].code === code) item.textContent = found[0].name;
      }).catch(function () {});
    });
  }

  function levelChoices() {
    var sel = $("level"), lv = st.parent ? levelOf(st.parent) : null, depth = lv ? lv.depth : -1;
    sel.innerHTML = "";
    st.levels.filter(function (l) { return l.depth > depth; }).forEach(function (l) {
      sel.appendChild(el("option", { value: l.key }, levelLabel(l)));
    });
    var keys = Array.prototype.map.call(sel.options, function (o) { return o.value; });
    if (!st.level || keys.indexOf(st.level) < 0) st.level = keys[0] || null;
    sel.value = st.level;
    sel.disabled = keys.length === 0;
  }

  function cards(now, before) {
    var box = $("headline");
    box.innerHTML = "";
    HEADLINE.forEach(function (key) {
      var c = el("div", { "class": "card", "data-figure": key });
      c.appendChild(el("div", { "class": "k" }, label(key)));
      var v = el("div", { "class": "v" }, show(key, now[key]));
      if (key === "score" && now.grade) {
        v.appendChild(document.createTextNode(" "));
        v.appendChild(el("span", { "class": "grade " + now.grade }, now.grade));
      }
      c.appendChild(v);
      var a = now[key], b = before ? before[key] : null;
      if (key !== "overdue_now" && a !== null && a !== undefined && b !== null && b !== undefined) {
        var kind = (st.figures[key] || {}).kind;
        var digits = kind === "rate" || kind === "hours" || kind === "score" ? 1 :
          (kind === "rating" ? 2 : 0);
        var scale = kind === "rate" ? 100 : 1;
        var diff = Number((scale * (a - b)).toFixed(digits));  // as shown: "−0.0" is no change
        var txt = diff.toFixed(digits) + (kind === "rate" ? " pt" : "");
        var good = LOWER_IS_BETTER[key] ? diff < 0 : diff > 0;
        var cls = diff === 0 || NEUTRAL[key] ? "flat" : (good ? "up" : "down");
        c.appendChild(el("div", { "class": "d " + cls },
          (diff > 0 ? "▲ +" : diff < 0 ? "▼ " : "= ") + txt.replace(/^-/, "−") + " " + S.t("vs")));
      }
      box.appendChild(c);
    });
  }

  function chart(id) {
    if (!st.charts[id]) st.charts[id] = echarts.init($(id), null, { renderer: "canvas" });
    return st.charts[id];
  }

  // The trend's rates (closure, on time, satisfaction, rework, extension, in the grid) in % on
  // the left axis with the score, the reports as bars on the right: rates, not only counts.
  function trendChart(points) {
    var x = points.map(function (p) { return p.period.label; });
    var pct = function (key, colour) {  // a colour of its own each: six lines must read apart
      return { name: label(key), type: "line", yAxisIndex: 0, smooth: true,
        itemStyle: { color: colour }, lineStyle: { color: colour },
        data: points.map(function (p) { return p[key] === null ? null : +(100 * p[key]).toFixed(1); }) };
    };
    chart("chart-trend").setOption({
      animation: false, tooltip: { trigger: "axis" }, legend: { top: 0, type: "scroll" },
      grid: { left: 40, right: 44, top: 34, bottom: 24 },
      xAxis: { type: "category", data: x },
      yAxis: [{ type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
        { type: "value", splitLine: { show: false } }],
      series: [
        { name: S.t("reported_bar"), type: "bar", yAxisIndex: 1, data: points.map(function (p) { return p.reported; }),
          itemStyle: { color: "#c6d5e6" } },
        pct("closure_rate", "#1f4e79"), pct("on_time_rate", "#1a9641"),
        pct("satisfied_share", "#7b3294"), pct("rework_rate", "#d7191c"),
        pct("extension_rate", "#f28e2b"), pct("in_grid_rate", "#17becf"),
        { name: label("score"), type: "line", yAxisIndex: 0, data: points.map(function (p) { return p.score; }),
          itemStyle: { color: "#555555" }, lineStyle: { type: "dashed", color: "#555555" } }
      ]
    }, true);
  }

  function categoryChart(rows) {
    rows = rows.slice().sort(function (a, b) { return a.reported - b.reported; });
    var names = rows.map(function (r) {
      var c = st.categories[r.key];
      return c ? (S.lang === "zh" ? c.label_zh : c.label_en) : r.name;
    });
    chart("chart-category").setOption({
      animation: false, tooltip: { trigger: "axis" }, legend: { top: 0 },
      grid: { left: 80, right: 40, top: 30, bottom: 20 },
      xAxis: [{ type: "value" }, { type: "value", min: 0, max: 100, show: false }],
      yAxis: { type: "category", data: names },
      series: [
        { name: label("reported"), type: "bar", data: rows.map(function (r) { return r.reported; }) },
        { name: label("on_time_rate"), type: "bar", xAxisIndex: 1,
          data: rows.map(function (r) { return r.on_time_rate === null ? null : +(100 * r.on_time_rate).toFixed(1); }),
          label: { show: true, position: "right", formatter: "{c}%" }, itemStyle: { color: "#1a9641" } }
      ]
    }, true);
  }

  function stateChart(counts) {
    var t = S.t("states");
    chart("chart-state").setOption({
      animation: false, tooltip: { trigger: "item" }, legend: { bottom: 0, type: "scroll" },
      series: [{ type: "pie", radius: ["35%", "65%"], center: ["50%", "45%"],
        label: { formatter: "{b}: {c}" },
        data: Object.keys(counts).filter(function (k) { return counts[k] > 0; })
          .map(function (k) { return { name: t[k] || k, value: counts[k] }; }) }]
    }, true);
  }

  // A table of rows; a click on a header sorts by it; drill: a click on a row goes into it.
  function table(id, rows, cols, drill) {
    var tbl = $(id), sort = tbl._sort || null;
    var sorted = rows.slice();
    if (sort) {
      sorted.sort(function (a, b) {
        var x = a[sort.key], y = b[sort.key];
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        return (x < y ? -1 : x > y ? 1 : 0) * sort.dir;
      });
    }
    tbl.innerHTML = "";
    var head = el("tr");
    [["rank", S.t("rank")], ["name", S.t("name")]].concat(cols.map(function (k) { return [k, label(k)]; }))
      .forEach(function (c) {
        var th = el("th", { "data-key": c[0] }, c[1]);
        th.addEventListener("click", function () {
          tbl._sort = { key: c[0], dir: sort && sort.key === c[0] ? -sort.dir : (c[0] === "name" || c[0] === "rank" ? 1 : -1) };
          table(id, rows, cols, drill);
        });
        head.appendChild(th);
      });
    var thead = el("thead"); thead.appendChild(head); tbl.appendChild(thead);
    var body = el("tbody");
    sorted.forEach(function (r) {
      var tr = el("tr", { "data-key": r.key });
      tr.appendChild(el("td", {}, r.rank || "—"));
      tr.appendChild(el("td", {}, r.name));
      cols.forEach(function (k) {
        var td = el("td", { "data-figure": k });
        if (k === "grade") {
          if (r.grade) td.appendChild(el("span", { "class": "grade " + r.grade }, r.grade));
          else td.textContent = S.t("none");
        } else td.textContent = show(k, r[k]);
        tr.appendChild(td);
      });
      if (drill) { tr.className = "drill"; tr.addEventListener("click", function () { drill(r); }); }
      body.appendChild(tr);
    });
    if (!rows.length) {  // nothing to list (no overdue work, say): said, not a bare header
      var none = el("td", { colspan: String(cols.length + 2), "class": "muted" }, S.t("none"));
      var tr0 = el("tr"); tr0.appendChild(none); body.appendChild(tr0);
    }
    tbl.appendChild(body);
  }

  function worst(rows, n) {
    return rows.filter(function (r) { return r.overdue_now > 0; })
      .sort(function (a, b) { return b.overdue_now - a.overdue_now; }).slice(0, n)
      .map(function (r, i) { return Object.assign({}, r, { rank: i + 1 }); });
  }

  function mapFrame() {
    var p = new URLSearchParams({ period: st.period, figure: st.figure, lang: S.lang });
    if (st.parent) p.set("parent", st.parent);
    if (st.level) p.set("level", st.level);
    var src = "/dashboard/map?" + p.toString();
    if ($("map").getAttribute("src") !== src) $("map").setAttribute("src", src);
  }

  function figureChoices() {
    var sel = $("figure");
    sel.innerHTML = "";
    MAP_FIGURES.forEach(function (k) { sel.appendChild(el("option", { value: k }, label(k))); });
    sel.value = st.figure;
  }

  function render() {
    saveUrl(); crumbs(); levelChoices(); figureChoices(); S.apply();
    S.show($("error"), null);
    $("workbook").href = "/evaluation/workbook?" + q();
    $("csv").href = "/evaluation?" + q({ level: st.level, format: "csv" });
    mapFrame();
    var fail = function (e) { S.show($("error"), e); };
    var first = monthShift(st.period, -11) + "-01";
    var areas = S.api("/evaluation?" + q({ level: st.level }));
    st.shared = { key: tableKey("?" + q({ level: st.level })), table: areas };
    var trend = S.api("/evaluation/trend?" + q({ from: first, to: lastDay(st.period), bucket: "month" }));
    // by week: the twelve ISO weeks to the month's last day (the last one may be partial)
    var weekly = st.bucket !== "week" ? null : S.api("/evaluation/trend?" + q({
      from: mondayBefore(lastDay(st.period), 77), to: lastDay(st.period), bucket: "week" }));
    Promise.all([areas, trend, weekly]).then(function (r) {
      var now = r[0], points = r[1].points;  // the cards compare with the month before, always
      st.data.areas = now; st.data.trend = points; st.data.weeks = r[2] ? r[2].points : null;
      cards(now.total, points.length > 1 ? points[points.length - 2] : null);
      $("period-note").textContent = S.t("note").replace("{from}", now.period.from)
        .replace("{to}", now.period.to).replace("{weights}", Object.keys(now.weights)
          .map(function (k) { return k + " " + now.weights[k]; }).join(", "));
      trendChart(r[2] ? r[2].points : points);
      var leaf = st.levels[st.levels.length - 1].key === now.level;
      table("ranking", now.rows, AREA_COLS, leaf ? null : function (row) { go(row.key); });
      table("overdue-areas", worst(now.rows, 5), ["overdue_now", "grade"], null);
    }).catch(fail);
    S.api("/evaluation?" + q({ by: "category" })).then(function (b) {
      st.data.categories = b; categoryChart(b.rows);
    }).catch(fail);
    S.api("/evaluation/states?" + q()).then(function (b) { st.data.states = b; stateChart(b); })
      .catch(fail);
    S.api("/evaluation?" + q({ by: "department" })).then(function (b) {
      st.data.departments = b;
      table("departments", b.rows, DEP_COLS, null);
      table("overdue-departments", worst(b.rows, 5), ["overdue_now", "resolve_hours_median"], null);
    }).catch(fail);
    $("workers-row").hidden = st.me.role === "viewer";  // workers are named (policy.sees_names)
    if (st.me.role !== "viewer") {
      S.api("/evaluation?" + q({ by: "worker" })).then(function (b) {
        st.data.workers = b; table("workers", b.rows, DEP_COLS, null);
      }).catch(fail);
    }
  }

  // The map frame's figures are this page's table of the areas (evaluation.js asks here first):
  // the same query, so the same promise — one statement, not two, on every load and drill.
  function tableKey(url) {
    var p = new URLSearchParams(url.slice(url.indexOf("?") + 1));
    return ["level", "parent", "period", "from", "to", "by"].map(function (k) {
      return k + "=" + (p.get(k) || (k === "by" ? "area" : ""));
    }).join("&");
  }
  window.gridgeoEvaluationShared = function (url) {
    return st.shared && st.shared.key === tableKey(url) ? st.shared.table : null;
  };

  function go(code) {
    var lv = code ? levelOf(code) : null;
    st.parent = code;
    var below = st.levels.filter(function (l) { return l.depth === (lv ? lv.depth + 1 : 0); })[0];
    st.level = below ? below.key : null;
    render();
  }

  window.addEventListener("message", function (e) {  // a click on the map (same origin only)
    if (e.origin !== location.origin || !e.data || e.data.type !== "gridgeo-drill") return;
    var lv = levelOf(e.data.code);
    if (lv && lv.depth < st.levels.length - 1) go(e.data.code);
  });
  $("period").addEventListener("change", function () {
    if ($("period").value) { st.period = $("period").value; render(); }
  });
  $("level").addEventListener("change", function () { st.level = $("level").value; render(); });
  $("bucket").addEventListener("change", function () { st.bucket = $("bucket").value; render(); });
  $("figure").addEventListener("change", function () { st.figure = $("figure").value; mapFrame(); });
  S.onLang(function () { if (st.me) render(); });
  window.addEventListener("resize", function () {
    Object.keys(st.charts).forEach(function (k) { st.charts[k].resize(); });
  });

  /* --- start ---------------------------------------------------------------------------------- */
  function ready(me) {
    st.me = me;
    return Promise.all([S.api("/levels"), S.api("/evaluation/figures"), S.api("/categories")])
      .then(function (r) {
        st.levels = r[0]; st.weights = r[1].weights;
        r[1].figures.forEach(function (f) { st.figures[f.key] = f; });
        r[2].forEach(function (c) { st.categories[c.key] = c; });
        var url = new URLSearchParams(location.search);
        var d = new Date(); d.setDate(1); d.setMonth(d.getMonth() - 1);  // last month by default
        st.period = url.get("period") || (d.getFullYear() + "-" + (d.getMonth() < 9 ? "0" : "") + (d.getMonth() + 1));
        $("period").value = st.period;
        st.parent = url.get("area") || (st.me.areas.length === 1 ? st.me.areas[0] : "");
        st.level = url.get("level");
        st.bucket = url.get("bucket") === "week" ? "week" : "month";
        $("bucket").value = st.bucket;
        render();
      }).catch(function (e) { S.show($("error"), e); });
  }
  S.start({ ready: ready });
})();
