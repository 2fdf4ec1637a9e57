"""Who an incident may be dispatched to by name: the workers of its grid (处置人).

The rule is :data:`gridgeo.incidents.policy.HANDLER_ROLES`: a named worker of the incident's
grid (``workers``, see gridgeo/workers.py), or an enabled account of those roles whose areas
cover the grid (as :meth:`gridgeo.accounts.Account.covers` reads them). The desk's list of
handlers and the check of a dispatch read the same query, so the list offers exactly whom the
server accepts.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from gridgeo.errors import InvalidInput
from gridgeo.incidents.policy import HANDLER_ROLES, sql_list
from gridgeo.workers import ROLES as WORKER_ROLES

# the handlers of the current grid :grid: its named workers, then the accounts covering it
HANDLERS_SQL = f"""
SELECT 'worker' AS kind, w.id, w.name, NULL AS account, w.role, w.external_id AS code,
       w.full_time
FROM workers w JOIN current_grids g ON g.id = w.grid_id WHERE g.code = :grid
UNION ALL
SELECT 'account', u.id, u.name, u.name, u.role, max(a.area_code), NULL
FROM users u JOIN user_areas a ON a.user_id = u.id
WHERE u.role IN ({sql_list(HANDLER_ROLES)}) AND NOT u.disabled AND starts_with(:grid, a.area_code)
GROUP BY u.id
ORDER BY 1 DESC, 3, 2
"""  # noqa: S608 - constants


def grid_handlers(conn: Connection, grid: str) -> list[dict[str, Any]]:
    """The handlers of grid ``grid``: named workers (``kind`` worker) and accounts (account).

    Each has ``id``, ``name`` (the worker's, or the account's login), ``account`` (the login,
    None for a worker), ``role`` (a worker's with ``role_zh``/``role_en``), ``code`` (a worker's external
    id; for an account, the area code that covers the grid) and ``assignee``: what the
    incident's handler is stored as (the worker's name, the account's login).
    """
    out = []
    for r in conn.execute(text(HANDLERS_SQL), {"grid": grid}).mappings():
        d = dict(r)
        if d["kind"] == "worker":
            d["role_zh"], d["role_en"] = WORKER_ROLES[d["role"]]
        else:  # an account's role: the pages word it as the shell words every account's
            d.pop("full_time")
        d["assignee"] = d["name"]
        out.append(d)
    return out


def handler_of(
    conn: Connection, grid: str, grid_name: str | None, *, worker: int | None, assignee: str | None
) -> str:
    """What the incident's handler is stored as, once checked against the grid's handlers.

    ``worker`` names a worker by id; ``assignee`` a worker by name or an account by login.

    Raises:
        InvalidInput: neither is one of the grid's handlers (code ``not_a_grid_worker``, in
            both languages, naming the field and the grid).
    """
    handlers = grid_handlers(conn, grid)
    if worker is not None:
        found = [h for h in handlers if h["kind"] == "worker" and h["id"] == worker]
        field, who = "worker", f"#{worker}"
    else:
        name = (assignee or "").strip()
        found = [h for h in handlers if h["assignee"] == name]
        field, who = "assignee", f"'{name}'"
    if found:
        return str(found[0]["assignee"])
    where = f"{grid_name} ({grid})" if grid_name else grid
    where_zh = f"{grid_name}（{grid}）" if grid_name else grid
    raise InvalidInput(
        f"{who} is not a worker of grid {where}; dispatch to one of the grid's workers "
        "(GET /incidents/{id}/handlers lists them)",
        code="not_a_grid_worker",
        zh=f"{who} 不是网格 {where_zh} 的网格员，只能派遣给本网格的网格员",
        field=field,
        grid=grid,
    )
