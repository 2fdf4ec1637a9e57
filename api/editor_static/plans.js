/* /plans/editor: the open plans of an area and a form that opens a new one. */
(function () {
  "use strict";
  var shell = window.gridgeoShell, planners = window.gridgeoPlanners, $ = shell.$;

  shell.strings({
    zh: { plans_title: "边界规划", area: "区域编码", show: "显示", open_plans: "进行中的规划",
      col_title: "标题", col_area: "区域", col_opened: "开启时间", col_by: "创建人",
      no_plans: "暂无进行中的规划", new_plan: "新建规划", open_plan: "开启新规划", edit: "编辑" },
    en: { plans_title: "Boundary plans", area: "Area code", show: "Show", open_plans: "Open plans",
      col_title: "Title", col_area: "Area", col_opened: "Opened", col_by: "By",
      no_plans: "No open plans", new_plan: "New plan", open_plan: "Open a new plan", edit: "Edit" }
  });

  var plans = [];

  function area() { return $("area").value.trim(); }
  function within(code, root) { return !root || code.indexOf(root) === 0 || root.indexOf(code) === 0; }

  function render() {
    var rows = plans.filter(function (p) { return within(String(p.area_code || ""), area()); });
    $("plans").querySelector("tbody").innerHTML = rows.map(function (p) {
      return "<tr data-plan=\"" + shell.esc(p.id) + "\"><td>" + shell.esc(p.id) + "</td><td>" +
        shell.esc(p.title) + "</td><td>" + shell.esc(p.area_code) + "</td><td>" +
        shell.esc(shell.time(p.opened_at)) + "</td><td>" +
        shell.esc(p.created_by) + "</td><td><a class=\"edit-link\" href=\"plans/" +
        encodeURIComponent(p.id) + "/edit\">" + shell.esc(shell.t("edit")) + "</a></td></tr>";
    }).join("");
    $("no-plans").hidden = rows.length > 0;
  }

  function load() {
    return shell.request("plans?status=open").then(function (res) {
      if (!res.ok) { shell.say(shell.errorOf(res), "error"); return; }
      plans = res.body.plans || [];
      render();
    }).catch(shell.fail);
  }

  shell.onLang(render);
  $("area-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    history.replaceState(null, "", "plans/editor?area=" + encodeURIComponent(area()));
    render();
  });
  $("new-plan").addEventListener("submit", function (ev) {
    ev.preventDefault();
    shell.hush();
    shell.request("plans", { method: "POST", body: { area: area(), title: $("plan-title").value.trim() } })
      .then(function (res) {
        if (!res.ok) { shell.say(shell.errorOf(res), "error"); return; }
        location.assign("plans/" + encodeURIComponent(res.body.id) + "/edit");
      }).catch(shell.fail);
  });

  planners.start(function (me) {
    var asked = new URLSearchParams(location.search).get("area");
    $("area").value = asked || (me.areas && me.areas[0]) || "";
    load();
  });
})();
