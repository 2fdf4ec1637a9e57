"""A year of incident history for the demo city, so that its dashboard tells a story.

Tens of thousands of incidents cannot go through the real path one by one in the few seconds
the first ``serve`` has, so each incident's life is simulated here and its rows are written in
bulk (COPY, gridgeo/demo/history_load.py) — under the same rules, taken from the policy, not
restated (gridgeo/demo/lives.py):

- every action is checked by :func:`gridgeo.incidents.flow.check_transition` and
  :func:`~gridgeo.incidents.flow.check_pending` (the policy's ``RULES``) before it is recorded,
  with the effects ``flow.transition`` gives it (department, assignee, rating, extension);
- the limits are set from the category's minutes at the report, as the report statement does;
- escalation happens whenever a level's limit passes before the next action, as the escalation
  job would have done it: :func:`gridgeo.incidents.policy.due` and
  :func:`~gridgeo.incidents.policy.missed` are the Python rendering of the SQL the job runs;
- an incident's grid is that of its building (assigned by the leaf rule when the city loaded),
  its queue the ancestor at its level (``gridgeo_ancestor_code``), and its facts those of its
  timeline (:data:`gridgeo.incidents.facts.FACTS`).

tests/db/test_demo_history.py checks the result against the real code: the escalation job,
run at the end, has nothing left to escalate; the facts equal those derived from the timelines.

The story: reports follow the season (more sanitation in summer, broken facilities in winter),
the week and the hour; some grids and communities work faster than others, some departments
are slower (the housing bureau slowest); a few incidents are returned, extended, reopened or
escalated, most are closed with a rating that follows how well they were handled.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from gridgeo.demo.lives import Life, Simulator

DAYS = 365
PER_DAY = 75  # reports on an average day (about 27,000 a year)
CATEGORY_MIX = {"sanitation": 0.38, "broken_facility": 0.2, "safety_hazard": 0.14,
                "dispute": 0.16, "other": 0.12}  # fmt: skip
DEPARTMENT_SPEED = {"城市管理局": 0.8, "公安派出所": 1.0, "司法所": 1.35, "住房和城乡建设局": 1.9}
DESCRIPTIONS = {
    "sanitation": ("楼道堆放杂物", "垃圾未及时清运", "绿化带内有建筑垃圾", "小区内污水外溢"),
    "safety_hazard": ("消防通道被占用", "电动车楼道内充电", "窨井盖缺失", "高空坠物隐患"),
    "dispute": ("邻里噪音纠纷", "停车位纠纷", "物业费纠纷", "装修扰民"),
    "broken_facility": ("路灯不亮", "健身器材损坏", "单元门禁损坏", "道路破损积水"),
    "other": ("居民反映的其他问题", "流浪犬只出没", "违规张贴小广告"),
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡"
GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
         "涛", "明", "超", "秀英", "霞", "平", "刚", "桂英", "建华", "建国", "文", "红", "玉兰",
         "海燕", "志强", "丹", "萍", "鹏", "辉", "玲", "斌", "宁", "雪", "琳", "浩", "晓东")  # fmt: skip


def _names(n: int, rng: np.random.Generator) -> list[str]:
    pairs = [s + g for s in SURNAMES for g in GIVEN]
    picks = rng.choice(len(pairs), size=min(n, len(pairs)), replace=False)
    out = [pairs[int(i)] for i in picks]
    return out + [f"{pairs[i % len(pairs)]}{i // len(pairs) + 1}" for i in range(len(out), n)]


def _report_times(
    end: datetime, rng: np.random.Generator, per_day: float, days: int
) -> tuple[np.ndarray, np.ndarray]:
    """Report times over ``days`` days before ``end`` (seconds from their start), day of year."""
    start = end - timedelta(days=days)
    seconds: list[np.ndarray] = []
    doys: list[np.ndarray] = []
    hour_p = np.array([1, 1, 1, 1, 1, 2, 4, 8, 12, 13, 12, 9, 7, 10, 12, 12, 10, 8, 6, 5, 4, 3,
                       2, 1], dtype=float)  # fmt: skip
    hour_p /= hour_p.sum()
    for d in range(days):
        day = start + timedelta(days=d)
        doy = day.timetuple().tm_yday
        season = 1 + 0.22 * math.sin(2 * math.pi * (doy - 110) / 365)
        weekend = 0.72 if day.weekday() >= 5 else 1.0
        n = int(rng.poisson(per_day * season * weekend))
        hours = rng.choice(24, size=n, p=hour_p) + rng.random(n)
        seconds.append(d * 86400 + hours * 3600)
        doys.append(np.full(n, doy))
    return np.concatenate(seconds), np.concatenate(doys)


def _categories(doys: np.ndarray, rng: np.random.Generator) -> list[str]:
    """A category for each report by its day of the year (the season shifts the mix)."""
    summer = np.sin(2 * np.pi * (doys - 110) / 365)  # +1 mid-July, −1 mid-January
    keys = list(CATEGORY_MIX)
    w = np.array([[CATEGORY_MIX[k]] * len(doys) for k in keys])
    w[keys.index("sanitation")] *= 1 + 0.35 * summer
    w[keys.index("broken_facility")] *= 1 - 0.35 * summer
    w[keys.index("dispute")] *= 1 + 0.15 * summer
    cum = np.cumsum(w / w.sum(axis=0), axis=0)
    picks = (rng.random(len(doys)) > cum).sum(axis=0)
    return [keys[min(int(i), len(keys) - 1)] for i in picks]


RATINGS_ON_TIME = (0.01, 0.04, 0.14, 0.45)  # cumulative shares of 1, 2, 3, 4 (the rest: 5)
RATINGS_LATE = (0.08, 0.2, 0.45, 0.75)


def _rating(late: bool, u: float, v: float) -> int | None:
    """A resident's rating from two uniform draws; None when not reached (6 %)."""
    if v < 0.06:
        return None
    cum = RATINGS_LATE if late else RATINGS_ON_TIME
    return 1 + sum(u >= c for c in cum)


class Draws:
    """An incident's random numbers, drawn for all incidents at once (numpy per call is slow)."""

    def __init__(self, u: list[float], z: list[float]) -> None:
        """``u``: uniforms in [0, 1); ``z``: standard normals."""
        self.u, self.z, self.i, self.j = u, z, 0, 0

    def uniform(self, low: float = 0.0, high: float = 1.0) -> float:
        """The next uniform in [low, high)."""
        self.i += 1
        return low + (high - low) * self.u[self.i - 1]

    def lognormal(self, mean: float, sigma: float) -> float:
        """The next lognormal draw."""
        self.j += 1
        return math.exp(mean + sigma * self.z[self.j - 1])


def _story(sim: Simulator, life: Life, ctx: dict[str, Any], r: Draws, now: datetime) -> None:
    """Take ``life`` round the loop until it is closed or ``now`` comes."""
    accept_m, resolve_m = sim.limits[life.category]
    q = ctx["grid_speed"][life.grid]
    staff = ctx["workers"][life.grid]
    worker = staff[int(r.uniform() * len(staff))]
    t = life.reported_at
    steps: list[tuple[str, datetime, str, str, str, dict[str, Any]]] = []

    def step(action: str, at: datetime, actor: str, role: str, note: str = "", **extra: Any):
        steps.append((action, at, actor, role, note, extra))

    if r.uniform() < 0.004:
        sim.major(life)
    # acceptance: a share of the accept limit, slower in slow grids; now and then forgotten
    late_accept = 2.5 if r.uniform() < 0.04 else 1.0
    t += timedelta(minutes=accept_m * r.lognormal(math.log(0.3), 0.6) * q * late_accept)
    handlers = ctx["departments"].get(life.category, [])
    if handlers and r.uniform() < 0.42:
        dep_id, dep_name, speed = handlers[int(r.uniform() * len(handlers))]
        step("dispatch", t, "dispatcher", "dispatcher", department=dep_id, assignee=dep_name)
        if r.uniform() < 0.03:  # not theirs: back to the dispatcher, to the grid's worker
            t += timedelta(minutes=r.uniform(30, 240))
            step("return", t, dep_name, "patrol", note="非本单位职责")
            t += timedelta(minutes=r.uniform(10, 120))
            step("dispatch", t, "dispatcher", "dispatcher", assignee=worker)
            speed, dep_name = q, worker
        handler = dep_name
    else:
        step("accept", t, worker, "patrol")
        t += timedelta(minutes=r.uniform(5, 90))
        step("dispatch", t, "dispatcher", "dispatcher", assignee=worker)
        speed, handler = q, worker
    t += timedelta(minutes=r.uniform(5, 60))
    step("start", t, handler, "patrol")
    if r.uniform() < 0.004 * q:  # stuck: waits for a decision above, open for months
        steps.append(("resolve", now + timedelta(days=1), handler, "patrol", "已处理", {}))
    work = resolve_m * r.lognormal(math.log(0.5), 0.6) * speed
    resolved = max(life.reported_at + timedelta(minutes=work), t + timedelta(minutes=10))
    if resolved > life.resolve_due and r.uniform() < 0.22:  # asks in time for more time
        ask = life.reported_at + (life.resolve_due - life.reported_at) * 0.7
        if ask > t:
            step("request_extension", ask, handler, "patrol", note="需协调相关单位")
            decide = min(ask + timedelta(minutes=r.uniform(20, 240)), ask + (resolved - ask) / 2)
            if r.uniform() < 0.85:
                until = max(resolved, life.resolve_due) + timedelta(hours=r.uniform(2, 24))
                step("approve_extension", decide, "dispatcher", "dispatcher", until=until)
            else:
                step("refuse_extension", decide, "dispatcher", "dispatcher", note="请按时办结")
    step("resolve", resolved, handler, "patrol", note="已处理")
    verified = resolved + timedelta(minutes=r.uniform(30, 360))
    step("verify", verified, "dispatcher", "dispatcher")
    closed = verified + timedelta(minutes=r.uniform(30, 720))
    rating = _rating(resolved > life.resolve_due, r.uniform(), r.uniform())
    step("close", closed, "dispatcher", "dispatcher", note="" if rating else "居民未接电话",
         rating=rating)  # fmt: skip
    if r.uniform() < 0.02 * q:  # rework: the problem came back
        again = closed + timedelta(hours=r.uniform(6, 72))
        step("reopen", again, "dispatcher", "dispatcher", note="居民反映问题未解决")
        step("start", again + timedelta(hours=1), handler, "patrol")
        fixed = again + timedelta(hours=r.uniform(3, 30))
        step("resolve", fixed, handler, "patrol", note="已重新处理")
        step("verify", fixed + timedelta(hours=2), "dispatcher", "dispatcher")
        step("close", fixed + timedelta(hours=5), "dispatcher", "dispatcher",
             rating=_rating(True, r.uniform(), 1.0))  # fmt: skip
    for action, at, actor, role, note, extra in steps:
        if at >= now:
            break
        sim.act(life, action, at, actor, role, note, **extra)
    sim.escalate_until(life, now)


def simulate(
    conn: Connection,
    now: datetime,
    *,
    seed: int = 2027,
    per_day: float = PER_DAY,
    days: int = DAYS,
    offset_days: int = 0,
) -> tuple[list[Life], dict[int, list[str]]]:
    """The lives of a span of incidents in the stored city, each taken up to ``now``.

    The reports fall in the ``days`` days that end ``offset_days`` before ``now`` (by default
    the year before now). Nothing is written.

    Returns:
        The lives, and each grid's workers by name (``grid:<code>`` for an unstaffed one).
    """
    rng = np.random.default_rng(seed)
    limits = {k: (int(a), int(r)) for k, a, r in conn.execute(text(
        "SELECT key, accept_minutes, resolve_minutes FROM incident_categories WHERE active"))}  # fmt: skip
    chains: dict[int, list[str]] = {}
    for grid_id, codes in conn.execute(text(
        "SELECT g.id, ARRAY(SELECT c.code FROM gridgeo_chain(g.id) c ORDER BY c.depth) "
        "FROM current_grids g WHERE NOT EXISTS (SELECT 1 FROM grids k WHERE k.parent_id = g.id "
        "AND k.valid_to IS NULL)")):  # fmt: skip
        chains[int(grid_id)] = list(codes)
    buildings = conn.execute(text(
        "SELECT h.id, a.grid_id, h.household_count FROM households h "
        "JOIN household_grid a ON a.household_id = h.id ORDER BY h.id")).all()  # fmt: skip
    departments: dict[str, list[tuple[int, str, float]]] = {}
    for dep_id, name, cats in conn.execute(text(
        "SELECT id, name, categories FROM departments WHERE active ORDER BY id")):  # fmt: skip
        for c in cats:
            departments.setdefault(c, []).append(
                (int(dep_id), name, DEPARTMENT_SPEED.get(name, 1.0))
            )
    grids = sorted(chains)
    communities = sorted({chains[g][-2] for g in grids})
    # communities differ (a few clearly struggle), and so do the grids within them
    speed = rng.lognormal(0, 0.45, len(communities))
    speed[rng.choice(len(communities), size=3, replace=False)] *= 2.2
    community_speed = dict(zip(communities, speed, strict=True))
    staff: dict[int, int] = {
        int(g): int(n)
        for g, n in conn.execute(text("SELECT id, workers FROM grids WHERE id = ANY(:g)"),
                                 {"g": grids})
    }  # fmt: skip
    names = iter(_names(sum(int(staff[g]) for g in grids), rng))
    # each grid's staff by name; an unstaffed grid's incidents go to "grid:<code>", as a
    # dispatch with no assignee names them
    workers = {g: [next(names) for _ in range(int(staff[g]))] or [f"grid:{chains[g][-1]}"]
               for g in grids}  # fmt: skip
    ctx: dict[str, Any] = {
        "grid_speed": {g: float(rng.lognormal(0, 0.3)) * community_speed[chains[g][-2]]
                       for g in grids},
        "workers": workers,
        "departments": departments,
    }  # fmt: skip
    weights = np.array([float(b[2]) for b in buildings])
    end = now - timedelta(days=offset_days)
    seconds, doys = _report_times(end, rng, per_day, days)
    picks = rng.choice(len(buildings), size=len(seconds), p=weights / weights.sum())
    sim = Simulator(chains, limits)
    start = end - timedelta(days=days)
    categories = _categories(doys, rng)
    uniforms = rng.random((len(seconds), 24)).tolist()
    normals = rng.standard_normal((len(seconds), 4)).tolist()
    lives = []
    for k in range(len(seconds)):
        category = categories[k]
        accept, resolve = limits[category]
        at = start + timedelta(seconds=float(seconds[k]))
        building, grid = int(buildings[int(picks[k])][0]), int(buildings[int(picks[k])][1])
        life = Life(k, building, grid, category, at, at + timedelta(minutes=accept),
                    at + timedelta(minutes=resolve), workers[grid][0])  # fmt: skip
        life.level_accept_due, life.level_resolve_due = life.accept_due, life.resolve_due
        life.events.append((at, life.reporter, "report", None, "reported", ""))
        _story(sim, life, ctx, Draws(uniforms[k], normals[k]), now)
        lives.append(life)
    return lives, workers
