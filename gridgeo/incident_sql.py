"""The one statement that stores a report (see :func:`gridgeo.incidents.report_incident`).

Written for the driver (psycopg's ``%(name)s`` placeholders), so that the synchronous path
(``Connection.exec_driver_sql``) and the asynchronous one (``psycopg.AsyncConnection``) send the
same text, and kept under psycopg's 4 KB limit for caching the conversion of a query (the
whitespace is folded at import).
"""

from __future__ import annotations

import re

# One statement for a report (one round trip, where the steps cost little but their round
# trips add up): the category (active), an earlier incident under the same idempotency key,
# the leaf grid covering the point (or the grid %(code)s when the point was snapped to it), its
# chain, the area check, candidate grids within the accuracy circle, a likely duplicate, then
# the incident, its ``report`` event and the audit entry, all answered with what the reply
# needs. Nothing is stored unless the category is active, no incident has the key, a grid
# was found and the account covers it; a concurrent retry that stored the key first makes
# ``ON CONFLICT`` store nothing (the caller then reads that incident in a new statement,
# whose snapshot sees it). grid_parts holds the current grids only, with their code and depth.
_REPORT = """
WITH RECURSIVE
cat AS (
    SELECT key, accept_minutes AS am, resolve_minutes AS rm FROM incident_categories
    WHERE key = %(category)s AND active
),
existing AS (SELECT id FROM incidents WHERE reporter = %(by)s AND idempotency_key = %(key)s),
leaf AS (
    (SELECT p.grid_id AS id, p.code, p.depth FROM grid_parts p
     WHERE %(code)s::text IS NULL AND ST_Covers(p.geom, ST_Point(%(lon)s, %(lat)s, 4326))
     ORDER BY p.depth DESC, p.code LIMIT 1)
    UNION ALL
    SELECT g.id, g.code, l.depth FROM grids g JOIN levels l ON l.id = g.level_id
    WHERE g.code = %(code)s::text AND g.valid_to IS NULL
),
chain AS (
    SELECT g.parent_id, g.code, g.name, l.key, l.depth
    FROM leaf JOIN grids g ON g.id = leaf.id JOIN levels l ON l.id = g.level_id
    UNION ALL
    SELECT g.parent_id, g.code, g.name, l.key, l.depth
    FROM chain c JOIN grids g ON g.id = c.parent_id JOIN levels l ON l.id = g.level_id
),
co AS (
    SELECT array_agg(code ORDER BY depth) AS codes, array_agg(name ORDER BY depth) AS names,
        array_agg(key ORDER BY depth) AS levels FROM chain
),
allowed AS (
    SELECT leaf.* FROM leaf
    WHERE %(areas)s::text[] IS NULL
       OR EXISTS (SELECT FROM unnest(%(areas)s::text[]) a WHERE starts_with(leaf.code, a))
),
cand AS (
    SELECT DISTINCT p.grid_id AS id, p.code FROM grid_parts p, leaf
    WHERE %(m)s::float8 IS NOT NULL AND p.depth = leaf.depth
      AND ST_DWithin(p.geom, ST_Point(%(lon)s, %(lat)s, 4326), %(deg)s)
      AND ST_DWithin(p.geom::geography, ST_Point(%(lon)s, %(lat)s, 4326)::geography, %(m)s)
),
dup AS (
    SELECT i.id FROM incidents i
    WHERE i.category = %(category)s AND i.state = ANY(%(open)s)
      AND i.reported_at > %(since)s AND i.reported_at <= %(now)s
      AND ST_DWithin(i.location, ST_Point(%(lon)s, %(lat)s, 4326), %(dup_deg)s)
      AND ST_DWithin(i.location::geography, ST_Point(%(lon)s, %(lat)s, 4326)::geography,
                     %(dup_m)s)
    ORDER BY ST_Distance(i.location::geography, ST_Point(%(lon)s, %(lat)s, 4326)::geography),
        i.id
    LIMIT 1
),
ins AS (
    INSERT INTO incidents (location, grid_id, category, description, reported_at, created_by,
        updated_by, state, major, accuracy_m, coord_system, orig_lon, orig_lat,
        candidate_grid_ids, flags, duplicate_of, queue_area, accept_due, resolve_due, reporter,
        idempotency_key, updated_at)
    SELECT ST_Point(%(lon)s, %(lat)s, 4326), a.id, c.key, %(description)s, %(now)s, %(by)s,
        %(by)s, 'reported', %(major)s, %(accuracy)s, %(system)s, %(orig_lon)s, %(orig_lat)s,
        ARRAY(SELECT id FROM cand UNION SELECT a.id ORDER BY 1),
        %(flags)s::text[]
            || CASE WHEN EXISTS (SELECT FROM cand WHERE cand.id <> a.id)
                    THEN ARRAY['boundary'] ELSE '{}'::text[] END
            || CASE WHEN EXISTS (SELECT FROM dup) THEN ARRAY['duplicate'] ELSE '{}'::text[] END,
        (SELECT id FROM dup), a.code, %(now)s + make_interval(mins => c.am),
        %(now)s + make_interval(mins => c.rm), %(by)s, %(key)s, %(now)s
    FROM allowed a CROSS JOIN cat c
    WHERE NOT EXISTS (SELECT FROM existing)
    ON CONFLICT (reporter, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING *
),
ev AS (
    INSERT INTO incident_events (incident_id, at, actor, action, from_state, to_state, note)
    SELECT id, %(now)s, %(by)s, 'report', NULL, 'reported', array_to_string(flags, ', ') FROM ins
    RETURNING id, at, actor, action, from_state, to_state, note
),
audit AS (
    INSERT INTO audit_log (actor, action, entity, entity_id, detail)
    SELECT %(by)s, 'incident.report', 'incidents', id::text, '{"to_state": "reported"}'
    FROM ins
)
SELECT EXISTS (SELECT FROM cat) AS category_ok, (SELECT id FROM existing) AS existing_id,
    EXISTS (SELECT FROM leaf) AS located, EXISTS (SELECT FROM allowed) AS allowed,
    i.id, i.state, i.category, i.description, ST_X(i.location) AS lon, ST_Y(i.location) AS lat,
    i.accuracy_m, i.coord_system, i.orig_lon, i.orig_lat, i.queue_area AS grid, i.flags,
    i.duplicate_of, i.major, i.escalation_level, i.queue_area, i.accept_due, i.resolve_due,
    i.rating, i.reporter, i.assignee, NULL::text AS department, i.reported_at, i.updated_at,
    ARRAY(SELECT code FROM cand UNION SELECT code FROM leaf ORDER BY 1) AS candidates,
    ev.note AS last_note,
    ev.id AS event_id, ev.at AS event_at, ev.actor AS event_actor, ev.action AS event_action,
    ev.from_state AS event_from, ev.to_state AS event_to, ev.note AS event_note,
    co.codes AS chain_codes, co.names AS chain_names, co.levels AS chain_levels
FROM co LEFT JOIN ins i ON true LEFT JOIN ev ON true
"""


def fold(sql: str) -> str:
    """``sql`` without its layout: runs of white space as one, none around ``(),``.

    Only outside string literals (``'...'``), whose text is kept as written.
    """
    parts = sql.split("'")
    parts[::2] = [re.sub(r" ?([(),]) ?", r"\1", re.sub(r"\s+", " ", p)) for p in parts[::2]]
    return "'".join(parts).strip()


REPORT_SQL = fold(_REPORT)
# The columns of gridgeo.incident_flow.COLUMNS, in its order, as REPORT_SQL answers them.
REPORT_COLUMNS = (
    "id", "state", "category", "description", "lon", "lat", "accuracy_m", "coord_system",
    "orig_lon", "orig_lat", "grid", "flags", "duplicate_of", "major", "escalation_level",
    "queue_area", "accept_due", "resolve_due", "rating", "reporter", "assignee", "department",
    "reported_at", "updated_at", "candidates", "last_note",
)  # fmt: skip
