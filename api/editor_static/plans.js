/* /plans/editor: the open plans of an area and a form that opens a new one. */
(function () {
  "use strict";
  var shell = window.gridgeoShell, planners = window.gridgeoPlanners, $ = shell.$;

  shell.strings({
    zh: { plans_title: "边界规划", area: "区域编码", show: "显示", open_plans: "进行中的规划",
      col_title: "标题", col_area: "区域", col_opened: "开启时间", col_by: "创建人",
      no_plans: "暂无进行中的规划", new_plan: "新建规划", open_plan: "开启新规划", edit: "编辑",
      balance_heading: "自动均衡划分", balance_k: "网格数（可空）", balance_btn: "均衡划分",
      balance_wait: "正在计算…", balance_title: "自动均衡划分",
      balance_hint: "按住户数把上面的社区重新划成负荷均衡的网格，结果作为草案规划打开，提交前不改变现行网格。" },
    en: { plans_title: "Boundary plans", area: "Area code", show: "Show", open_plans: "Open plans",
      col_title: "Title", col_area: "Area", col_opened: "Opened", col_by: "By",
      no_plans: "No open plans", new_plan: "New plan", open_plan: "Open a new plan", edit: "Edit",
      balance_heading: "Balance automatically", balance_k: "Grids (optional)", balance_btn: "Balance",
      balance_wait: "Computing…", balance_title: "Balanced redraw",
      balance_hint: "Redraws the community above into grids of balanced load by households; the result opens as a draft plan and changes nothing until it is committed." }
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

  /* POST /balance?plan=true: the proposal opened as a draft plan, then shown in the editor. */
  $("balance-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    shell.hush();
    var body = { area: area(), title: shell.t("balance_title") };
    var k = $("balance-k").value.trim();
    if (k) body.k = Number(k);
    $("balance").disabled = true;
    $("balance-wait").hidden = false;
    shell.request("balance?plan=true", { method: "POST", body: body })
      .then(function (res) {
        if (!res.ok) { shell.say(shell.errorOf(res), "error"); return; }
        location.assign("plans/" + encodeURIComponent(res.body.plan.id) + "/edit");
      }).catch(shell.fail)
      .then(function () { $("balance").disabled = false; $("balance-wait").hidden = true; });
  });

  planners.start(function (me) {
    var asked = new URLSearchParams(location.search).get("area");
    $("area").value = asked || (me.areas && me.areas[0]) || "";
    if (new URLSearchParams(location.search).get("balance")) {  // from a community's map page
      $("balance-card").scrollIntoView();
      $("balance").focus();
    }
    load();
  });
})();
