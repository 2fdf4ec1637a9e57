/* What the planners' two pages share beyond the shell (shell-static/shell.js, which logs in,
 * keeps the token, fetches, translates and draws the header and the message bar): the page's
 * config (plan id, base map) written into <body data-config> by api/routers/plan_pages.py,
 * and the role check (planners and admins edit plans; anyone else is told so, and the page
 * asks the plans API for nothing).
 */
(function () {
  "use strict";
  var shell = window.gridgeoShell;

  shell.strings({
    zh: { denied: "此账号无权编辑规划（需要规划员或管理员）" },
    en: { denied: "This account may not edit plans (planner or admin needed)" }
  });

  window.gridgeoPlanners = {
    config: JSON.parse(document.body.dataset.config || "{}"),
    /* Sign in through the shell, then ready(me) each time a planner or an admin signs in. */
    start: function (ready) {
      shell.start({ ready: function (me) {
        if (me.role !== "planner" && me.role !== "admin") {
          shell.say({ key: "denied" }, "error");
          return;
        }
        ready(me);
      } });
    }
  };
})();
