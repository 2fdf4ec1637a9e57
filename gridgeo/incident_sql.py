"""The one statement that stores a report (see :func:`gridgeo.incidents.report_incident`)."""

from __future__ import annotations

from sqlalchemy import text

# One statement for a report (one round trip, where the steps cost little but their round
# trips add up): the category (active), an earlier incident under the same idempotency key,
# the leaf grid covering the point (or the grid :code when the point was snapped to it), its
# chain, the area check, candidate grids within the accuracy circle, a likely duplicate, then
# the incident, its ``report`` event and the audit entry, all answered with what the reply
# needs. Nothing is stored unless the category is active, no incident has the key, a grid
# was found and the account covers it; a concurrent retry that stored the key first makes
# ``ON CONFLICT`` store nothing (the caller then reads that incident in a new statement,
# whose snapshot sees it).
REPORT_SQL = text(
    """
WITH RECURSIVE
cat AS (
    SELECT key, accept_minutes, resolve_minutes FROM incident_categories
    WHERE key = :category AND active
),
existing AS (
    SELECT id FROM incidents WHERE reporter = :by AND idempotency_key = :key
),
covering AS (
    SELECT p.grid_id FROM grid_parts p
    WHERE CAST(:code AS text) IS NULL
      AND ST_Covers(p.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
    ORDER BY p.depth DESC, p.code
    LIMIT 1
),
leaf AS (
    SELECT g.id, g.code, l.depth FROM covering c
    JOIN grids g ON g.id = c.grid_id JOIN levels l ON l.id = g.level_id
    UNION ALL
    SELECT g.id, g.code, l.depth FROM grids g JOIN levels l ON l.id = g.level_id
    WHERE g.code = CAST(:code AS text) AND g.valid_to IS NULL
),
chain AS (
    SELECT g.id, g.parent_id FROM grids g JOIN leaf ON g.id = leaf.id
    UNION ALL
    SELECT g.id, g.parent_id FROM grids g JOIN chain c ON g.id = c.parent_id
),
chain_out AS (
    SELECT array_agg(g.code ORDER BY l.depth) AS codes, array_agg(g.name ORDER BY l.depth)
        AS names, array_agg(l.key ORDER BY l.depth) AS levels
    FROM chain c JOIN grids g ON g.id = c.id JOIN levels l ON l.id = g.level_id
),
allowed AS (
    SELECT leaf.* FROM leaf
    WHERE CAST(:areas AS text[]) IS NULL
       OR EXISTS (SELECT 1 FROM unnest(CAST(:areas AS text[])) a WHERE starts_with(leaf.code, a))
),
cand AS (
    SELECT DISTINCT p.grid_id FROM grid_parts p, leaf
    WHERE CAST(:m AS float8) IS NOT NULL AND p.depth = leaf.depth
      AND ST_DWithin(p.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :deg)
      AND ST_DWithin(p.geom::geography,
                     ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :m)
),
dup AS (
    SELECT i.id FROM incidents i
    WHERE i.category = :category AND i.state = ANY(:open)
      AND i.reported_at > :since AND i.reported_at <= :now
      AND ST_DWithin(i.location, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :dup_deg)
      AND ST_DWithin(i.location::geography,
                     ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :dup_m)
    ORDER BY ST_Distance(i.location::geography,
                         ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography), i.id
    LIMIT 1
),
ins AS (
    INSERT INTO incidents (location, grid_id, category, description, reported_at, created_by,
        updated_by, state, major, accuracy_m, coord_system, orig_lon, orig_lat,
        candidate_grid_ids, flags, duplicate_of, queue_area, accept_due, resolve_due, reporter,
        idempotency_key, updated_at)
    SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), a.id, c.key, :description, :now, :by,
        :by, 'reported', :major, :accuracy, :system, :orig_lon, :orig_lat,
        ARRAY(SELECT grid_id FROM cand UNION SELECT a.id ORDER BY 1),
        CAST(:flags AS text[])
            || CASE WHEN EXISTS (SELECT 1 FROM cand WHERE cand.grid_id <> a.id)
                    THEN ARRAY['boundary'] ELSE CAST('{}' AS text[]) END
            || CASE WHEN EXISTS (SELECT 1 FROM dup)
                    THEN ARRAY['duplicate'] ELSE CAST('{}' AS text[]) END,
        (SELECT id FROM dup), a.code,
        :now + make_interval(mins => c.accept_minutes),
        :now + make_interval(mins => c.resolve_minutes), :by, :key, :now
    FROM allowed a CROSS JOIN cat c
    WHERE NOT EXISTS (SELECT 1 FROM existing)
    ON CONFLICT (reporter, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING *
),
ev AS (
    INSERT INTO incident_events (incident_id, at, actor, action, from_state, to_state, note)
    SELECT id, :now, :by, 'report', NULL, 'reported', array_to_string(flags, ', ') FROM ins
    RETURNING id, at, actor, action, from_state, to_state, note
),
audit AS (
    INSERT INTO audit_log (actor, action, entity, entity_id, detail)
    SELECT :by, 'incident.report', 'incidents', CAST(id AS text), CAST(:detail AS jsonb)
    FROM ins
)
SELECT EXISTS (SELECT 1 FROM cat) AS category_ok, (SELECT id FROM existing) AS existing_id,
    EXISTS (SELECT 1 FROM leaf) AS located, EXISTS (SELECT 1 FROM allowed) AS allowed,
    i.id, i.state, i.category, i.description, ST_X(i.location) AS lon, ST_Y(i.location) AS lat,
    i.accuracy_m, i.coord_system, i.orig_lon, i.orig_lat, i.queue_area AS grid, i.flags,
    i.duplicate_of, i.major, i.escalation_level, i.queue_area, i.accept_due, i.resolve_due,
    i.rating, i.reporter, i.assignee, CAST(NULL AS text) AS department, i.reported_at,
    i.updated_at,
    ARRAY(SELECT g.code FROM grids g WHERE g.id = ANY(i.candidate_grid_ids) ORDER BY g.code)
        AS candidates,
    ev.note AS last_note,
    ev.id AS event_id, ev.at AS event_at, ev.actor AS event_actor, ev.action AS event_action,
    ev.from_state AS event_from, ev.to_state AS event_to, ev.note AS event_note,
    co.codes AS chain_codes, co.names AS chain_names, co.levels AS chain_levels
FROM chain_out co LEFT JOIN ins i ON true LEFT JOIN ev ON true
"""
)
# The columns of gridgeo.incident_flow.COLUMNS, in its order, as REPORT_SQL answers them.
REPORT_COLUMNS = (
    "id", "state", "category", "description", "lon", "lat", "accuracy_m", "coord_system",
    "orig_lon", "orig_lat", "grid", "flags", "duplicate_of", "major", "escalation_level",
    "queue_area", "accept_due", "resolve_due", "rating", "reporter", "assignee", "department",
    "reported_at", "updated_at", "candidates", "last_note",
)  # fmt: skip
