"""The one statement that stores a report (see :func:`gridgeo.incidents.report.report_incident`).

Written for the driver (psycopg's ``%(name)s`` placeholders), so that the synchronous path
(``Connection.exec_driver_sql``) and the asynchronous one (``psycopg.AsyncConnection``) send the
same text, and kept under psycopg's 4 KB limit for caching the conversion of a query (the
whitespace is folded at import).
"""

from __future__ import annotations

import re

from gridgeo.incidents.policy import OPEN_STATES, REPORTERS, sql_list
from gridgeo.tokens import RESOLVE_SQL

# One statement for a report (one round trip, where the steps cost little but their round
# trips add up): the reporter (from a token's hash, or as given), the category (active), an
# earlier incident under the same idempotency key, the leaf grid covering the point (or the
# grid %(code)s when the point was snapped to it), its chain, the area check, candidate grids
# within the accuracy circle, a likely duplicate, then the incident, its ``report`` event and
# the audit entry, all answered with what the reply needs. Nothing is stored unless the
# reporter may report, the category is active, no incident has the key, a grid was found and
# the reporter's areas cover it; a concurrent retry that stored the key first makes
# ``ON CONFLICT`` store nothing (the caller then reads that incident in a new statement, whose
# snapshot sees it). The point %(pt)s is EWKT in WGS84. grid_parts holds the current grids
# only, with their code and depth.
# Its plan is a generic one (prepared, see api.statements). The likely duplicate is the nearest
# (on the map) open incident of the category within 50 m and 24 h: the spatial index hands
# out the incidents near the point nearest first and the scan stops at the first that
# qualifies, however many incidents a busy corner has. OFFSET 0 keeps the other filters out of
# that scan: a generic plan had else gone in by time and read a whole day of incidents.
_REPORT = """
WITH
who(who_token, who_id, who_name, who_role, who_off, who_areas) AS (
    @RESOLVE@
    UNION ALL SELECT NULL, %(uid)s::bigint, %(by)s::text, %(role)s::text, false,
        %(areas)s::text[] WHERE %(h)s::bytea IS NULL
),
cat AS (
    SELECT key, %(now)s + make_interval(mins => accept_minutes) AS ad,
        %(now)s + make_interval(mins => resolve_minutes) AS rd
    FROM incident_categories WHERE key = %(category)s AND active
),
existing AS (
    SELECT id FROM incidents, who WHERE reporter = who.who_name AND idempotency_key = %(key)s
),
leaf AS (
    SELECT f.grid_id AS id, f.code, f.depth FROM gridgeo_leaf(%(pt)s::geometry) f
    WHERE %(code)s::text IS NULL
    UNION ALL
    SELECT g.id, g.code, l.depth FROM current_grids g JOIN levels l ON l.id = g.level_id
    WHERE g.code = %(code)s::text
),
co AS (
    SELECT array_agg(c.code ORDER BY c.depth) AS chain_codes,
        array_agg(c.name ORDER BY c.depth) AS chain_names,
        array_agg(c.level ORDER BY c.depth) AS chain_levels
    FROM leaf CROSS JOIN LATERAL gridgeo_chain(leaf.id) c
),
allowed AS (
    SELECT leaf.*, who.who_name AS name FROM leaf, who
    WHERE who_role IN (@ROLES@) AND (who_role = 'admin' OR EXISTS (
        SELECT FROM unnest(who_areas) a WHERE starts_with(leaf.code, a)))
),
cand AS (
    SELECT DISTINCT p.grid_id AS id, p.code FROM grid_parts p
    WHERE %(m)s::float8 IS NOT NULL AND p.depth = (SELECT depth FROM leaf)
      AND p.grid_id <> (SELECT id FROM leaf)
      AND ST_DWithin(p.geom, %(pt)s::geometry, %(deg)s)
      AND ST_DWithin(p.geom::geography, %(pt)s::geography, %(m)s)
),
dup AS (
    SELECT id FROM (
        SELECT id, category, state, reported_at, location FROM incidents
        WHERE ST_DWithin(location, %(pt)s::geometry, %(dup_deg)s)
        ORDER BY location <-> %(pt)s::geometry OFFSET 0
    ) near
    WHERE category = %(category)s AND state IN (@OPEN@)
      AND reported_at > %(since)s AND reported_at <= %(now)s
      AND ST_DWithin(location::geography, %(pt)s::geography, %(dup_m)s)
    LIMIT 1
),
ins AS (
    INSERT INTO incidents (location, grid_id, category, description, reported_at, created_by,
        updated_by, state, major, accuracy_m, coord_system, orig_lon, orig_lat,
        candidate_grid_ids, flags, duplicate_of, queue_area, accept_due, resolve_due,
        level_accept_due, level_resolve_due, reporter, idempotency_key, updated_at)
    SELECT %(pt)s::geometry, a.id, c.key, %(description)s, %(now)s, a.name,
        a.name, 'reported', %(major)s, %(accuracy)s, %(system)s, %(orig_lon)s, %(orig_lat)s,
        ARRAY(SELECT id FROM cand UNION SELECT a.id ORDER BY 1),
        %(flags)s::text[]
            || CASE WHEN EXISTS (SELECT FROM cand) THEN ARRAY['boundary'] ELSE '{}'::text[] END
            || CASE WHEN EXISTS (SELECT FROM dup) THEN ARRAY['duplicate'] ELSE '{}'::text[] END,
        (SELECT id FROM dup), a.code, c.ad, c.rd, c.ad, c.rd, a.name, %(key)s, %(now)s
    FROM allowed a CROSS JOIN cat c
    WHERE NOT EXISTS (SELECT FROM existing)
    ON CONFLICT DO NOTHING
    RETURNING *
),
ev(event_id, event_at, event_actor, event_action, event_from, event_to, event_note) AS (
    INSERT INTO incident_events (incident_id, at, actor, action, from_state, to_state, note)
    SELECT id, %(now)s, reporter, 'report', NULL, 'reported', array_to_string(flags, ', ')
    FROM ins
    RETURNING id, at, actor, action, from_state, to_state, note
),
audit AS (
    INSERT INTO audit_log (actor, action, entity, entity_id, detail)
    SELECT reporter, 'incident.report', 'incidents', id::text, '{"to_state": "reported"}'
    FROM ins
)
SELECT EXISTS (SELECT FROM cat) AS category_ok,
    (SELECT id FROM existing) AS existing_id, EXISTS (SELECT FROM leaf) AS located,
    EXISTS (SELECT FROM allowed) AS allowed, ST_X(i.location) AS lon, ST_Y(i.location) AS lat,
    ARRAY(SELECT code FROM cand UNION SELECT code FROM leaf ORDER BY 1) AS candidates,
    @COLUMNS@, ev.*, co.*, w.*
FROM co LEFT JOIN ins i ON true LEFT JOIN ev ON true LEFT JOIN who w ON true
"""


def fold(sql: str) -> str:
    """``sql`` without its layout: runs of white space as one, none around ``(),``.

    Only outside string literals (``'...'``), whose text is kept as written.
    """
    parts = sql.split("'")
    parts[::2] = [re.sub(r" ?([(),]) ?", r"\1", re.sub(r"\s+", " ", p)) for p in parts[::2]]
    return "'".join(parts).strip()


# The columns of gridgeo.incidents.queries.COLUMNS, in its order, as REPORT_SQL answers them
# (new incidents have no department; their last note is that of their report event; due_at,
# the limit a new incident runs against, is gridgeo.incidents.policy.due of its limits).
REPORT_COLUMNS = (
    "id", "state", "category", "description", "lon", "lat", "accuracy_m", "coord_system",
    "orig_lon", "orig_lat", "queue_area:grid", "flags", "duplicate_of", "major",
    "escalation_level", "queue_area", "accept_due", "resolve_due", "due_at", "due_at:level_due_at",
    "rating", "reporter",
    "assignee", ":department", "reported_at", "updated_at", "candidates", "event_note:last_note",
    "media_url", "extended_due", "extension_requested_at", "resolved_at",
)  # fmt: skip
# What the statement answers of the new incident's row: only the columns the answer shows, not
# ``i.*`` (some 50): psycopg sets up a loader per column of every result, 8 % of a report's
# CPU in Python with the whole row (py-spy, wrk -c32). Those below are made by the statement
# or in Python (due_at).
_ANSWERED = ("", "lon", "lat", "candidates", "due_at", "event_note")
INCIDENT_COLUMNS = tuple(
    dict.fromkeys(c for c in (s.partition(":")[0] for s in REPORT_COLUMNS) if c not in _ANSWERED)
)
REPORT_SQL = fold(
    _REPORT.replace("@RESOLVE@", RESOLVE_SQL)
    .replace("@ROLES@", sql_list(REPORTERS))
    .replace("@OPEN@", sql_list(OPEN_STATES))
    .replace("@COLUMNS@", ",".join(INCIDENT_COLUMNS))
)
