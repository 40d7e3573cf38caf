-- Position counts per node and status on any date, as known at any moment, kept by the database.
--
-- A tree "as it stood at the last month-end" (`positions(asOf: D) { totalCount }` on every node)
-- counted each node's positions held on D: every position of the subtree read and tested (its
-- state, or its version covering D), 85 ms for the largest fund at 100,000 positions, 137 ms as
-- known at a past moment, 10-30x the same tree without a date.
--
-- Each version of a position (held over [valid_from, valid_to), recorded over [recorded_at,
-- superseded_at)) is in a state on D as known at K iff valid_from <= D < valid_to and
-- recorded_at <= K < superseded_at. Logged as four signed events per version - +1 at
-- (valid_from, recorded_at), -1 at (valid_to, recorded_at), -1 at (valid_from, superseded_at),
-- +1 at (valid_to, superseded_at), the missing ends left out - the number of a node's positions
-- in a state on D as known at K is the sum of its events with day <= D and stamp <= K (no two
-- versions of a position overlap as known at any moment). That sum is the node's count now
-- (node_position_count: every event summed, as each position's one open-ended current version
-- is in the position's status) minus the events after D or after K: for the dates and moments
-- a front-end asks (month-ends, last week) a short index range of recent events, whatever the
-- number of positions.
--
-- Rows are only inserted, by statement-level triggers on position_version (one row per node,
-- state, day and stamp a statement touches, never a lock on a shared row). A position moved to
-- another node moves its events; a deleted position takes its events out before its versions
-- go (the cascade's own events then find no position and are not logged twice).

-- CreateTable
CREATE TABLE "node_position_change" (
    "id" BIGSERIAL NOT NULL,
    "portfolio_node_id" UUID NOT NULL,
    "status" "position_status" NOT NULL,
    "day" DATE NOT NULL,
    "stamp" TIMESTAMPTZ(6) NOT NULL,
    "delta" INTEGER NOT NULL,

    CONSTRAINT "node_position_change_pkey" PRIMARY KEY ("id")
);

-- CreateIndex: the events of a node and state after a date (index-only).
CREATE INDEX "node_position_change_portfolio_node_id_status_day_delta_idx" ON "node_position_change"("portfolio_node_id", "status", "day", "delta");

-- CreateIndex: the events of a node and state recorded after a moment (index-only).
CREATE INDEX "node_position_change_stamp_idx" ON "node_position_change"("portfolio_node_id", "status", "stamp", "day", "delta");

-- The events of one version: (day, stamp, delta), the missing ends left out (inlined where used).
CREATE FUNCTION "position_version_events"(valid_from DATE, valid_to DATE, recorded_at TIMESTAMPTZ, superseded_at TIMESTAMPTZ)
RETURNS TABLE ("day" DATE, "stamp" TIMESTAMPTZ, "delta" INTEGER) LANGUAGE sql IMMUTABLE AS $$
    SELECT e.day, e.stamp, e.delta
    FROM (VALUES (valid_from, recorded_at, 1), (valid_to, recorded_at, -1), (valid_from, superseded_at, -1), (valid_to, superseded_at, 1)) AS e (day, stamp, delta)
    WHERE e.day IS NOT NULL AND e.stamp IS NOT NULL
$$;

-- Backfill, while no writer changes versions.
LOCK TABLE "position_version" IN SHARE MODE;
INSERT INTO "node_position_change" ("portfolio_node_id", "status", "day", "stamp", "delta")
SELECT p."portfolio_node_id", v."status", e."day", e."stamp", sum(e."delta")::int
FROM "position_version" v JOIN "position" p ON p.id = v."position_id"
CROSS JOIN LATERAL "position_version_events"(v."valid_from", v."valid_to", v."recorded_at", v."superseded_at") e
GROUP BY 1, 2, 3, 4 HAVING sum(e."delta") <> 0;

-- Versions written (inserted, superseded, removed): their events, the old ones' taken out.
CREATE FUNCTION "position_version_changes"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO "node_position_change" ("portfolio_node_id", "status", "day", "stamp", "delta")
        SELECT p."portfolio_node_id", v."status", e."day", e."stamp", sum(e."delta")::int
        FROM new_rows v JOIN "position" p ON p.id = v."position_id"
        CROSS JOIN LATERAL "position_version_events"(v."valid_from", v."valid_to", v."recorded_at", v."superseded_at") e
        GROUP BY 1, 2, 3, 4 HAVING sum(e."delta") <> 0;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO "node_position_change" ("portfolio_node_id", "status", "day", "stamp", "delta")
        SELECT p."portfolio_node_id", v."status", e."day", e."stamp", sum(v.sign * e."delta")::int
        FROM (SELECT n.*, 1 AS sign FROM new_rows n UNION ALL SELECT o.*, -1 FROM old_rows o) v JOIN "position" p ON p.id = v."position_id"
        CROSS JOIN LATERAL "position_version_events"(v."valid_from", v."valid_to", v."recorded_at", v."superseded_at") e
        GROUP BY 1, 2, 3, 4 HAVING sum(v.sign * e."delta") <> 0;
    ELSE
        INSERT INTO "node_position_change" ("portfolio_node_id", "status", "day", "stamp", "delta")
        SELECT p."portfolio_node_id", v."status", e."day", e."stamp", -sum(e."delta")::int
        FROM old_rows v JOIN "position" p ON p.id = v."position_id"
        CROSS JOIN LATERAL "position_version_events"(v."valid_from", v."valid_to", v."recorded_at", v."superseded_at") e
        GROUP BY 1, 2, 3, 4 HAVING sum(e."delta") <> 0;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER "position_version_changes_insert" AFTER INSERT ON "position_version"
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "position_version_changes"();
CREATE TRIGGER "position_version_changes_update" AFTER UPDATE ON "position_version"
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "position_version_changes"();
CREATE TRIGGER "position_version_changes_delete" AFTER DELETE ON "position_version"
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "position_version_changes"();

-- A position moved to another node (its events move with it), or deleted (its events taken out
-- while its versions are still there: the cascade that removes them runs after the row is gone).
CREATE FUNCTION "position_changes_moved"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    target UUID := CASE WHEN TG_OP = 'UPDATE' THEN NEW."portfolio_node_id" END;
BEGIN
    INSERT INTO "node_position_change" ("portfolio_node_id", "status", "day", "stamp", "delta")
    SELECT n.node, v."status", e."day", e."stamp", n.sign * sum(e."delta")::int
    FROM "position_version" v
    CROSS JOIN LATERAL "position_version_events"(v."valid_from", v."valid_to", v."recorded_at", v."superseded_at") e
    CROSS JOIN (VALUES (OLD."portfolio_node_id", -1), (target, 1)) AS n (node, sign)
    WHERE v."position_id" = OLD.id AND n.node IS NOT NULL
    GROUP BY n.node, n.sign, v."status", e."day", e."stamp"
    HAVING sum(e."delta") <> 0;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NULL END;
END;
$$;
CREATE TRIGGER "position_changes_move" AFTER UPDATE OF "portfolio_node_id" ON "position" FOR EACH ROW
    WHEN (OLD."portfolio_node_id" IS DISTINCT FROM NEW."portfolio_node_id")
    EXECUTE FUNCTION "position_changes_moved"();
CREATE TRIGGER "position_changes_delete" BEFORE DELETE ON "position" FOR EACH ROW
    EXECUTE FUNCTION "position_changes_moved"();

-- TRUNCATE fires no DELETE trigger: the events go with the versions.
CREATE FUNCTION "position_version_changes_truncated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM "node_position_change";
    RETURN NULL;
END;
$$;
CREATE TRIGGER "position_version_changes_truncate" AFTER TRUNCATE ON "position_version"
    FOR EACH STATEMENT EXECUTE FUNCTION "position_version_changes_truncated"();
