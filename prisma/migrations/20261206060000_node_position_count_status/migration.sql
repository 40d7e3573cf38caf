-- Position counts per node and status, kept by the database.
--
-- A tree view of live holdings asks every node for its ACTIVE positions
-- (`positions(status: [ACTIVE]) { totalCount }`). The counts kept per node
-- (20261125230000_node_position_counts) had no status, so such a view counted
-- the position index: every entry of the subtree (44,000 for the largest fund
-- at 100,000 positions, 437,000 at a million), 2-6x the time of the view
-- without a status. Now each delta row carries the status of the positions it
-- counts: a node's count in some states is the sum of its deltas in them, an
-- index-only scan of a few rows whatever the states asked.
--
-- The same rules as before: rows are only inserted by writers; once a node has
-- more than 32 rows of one status, the writing statement folds them into one
-- under an advisory lock it only tries to take, under READ COMMITTED only. A
-- status change is counted like a move: -1 in the old status, +1 in the new.

-- The existing rows carry no status: counted again, while no writer changes positions.
LOCK TABLE "position" IN SHARE MODE;
DELETE FROM "node_position_count";
ALTER TABLE "node_position_count" ADD COLUMN "status" "position_status" NOT NULL;
INSERT INTO "node_position_count" ("portfolio_node_id", "status", "delta")
SELECT "portfolio_node_id", "status", count(*) FROM "position" GROUP BY "portfolio_node_id", "status";

-- DropIndex
DROP INDEX "node_position_count_portfolio_node_id_delta_idx";

-- CreateIndex: the sum for a node, in any states, is an index-only scan.
CREATE INDEX "node_position_count_portfolio_node_id_status_delta_idx" ON "node_position_count"("portfolio_node_id", "status", "delta");

CREATE OR REPLACE FUNCTION "node_position_count_fold"(nodes UUID[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    node UUID;
    state "position_status";
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN RETURN; END IF;
    FOR node, state IN
        SELECT c."portfolio_node_id", c."status" FROM "node_position_count" c WHERE c."portfolio_node_id" = ANY (nodes)
        GROUP BY c."portfolio_node_id", c."status" HAVING count(*) > 32 ORDER BY 1, 2
    LOOP
        IF pg_try_advisory_xact_lock(hashtextextended('node_position_count:' || node::text || ':' || state::text, 0)) THEN
            WITH gone AS (DELETE FROM "node_position_count" WHERE "portfolio_node_id" = node AND "status" = state RETURNING "delta")
            INSERT INTO "node_position_count" ("portfolio_node_id", "status", "delta")
            SELECT node, state, sum("delta") FROM gone HAVING sum("delta") <> 0;
        END IF;
    END LOOP;
END;
$$;

CREATE OR REPLACE FUNCTION "position_counts_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    nodes UUID[];
BEGIN
    WITH added AS (
        INSERT INTO "node_position_count" ("portfolio_node_id", "status", "delta")
        SELECT "portfolio_node_id", "status", count(*) FROM new_rows GROUP BY "portfolio_node_id", "status"
        RETURNING "portfolio_node_id"
    )
    SELECT array_agg(DISTINCT "portfolio_node_id") INTO nodes FROM added;
    IF nodes IS NOT NULL THEN PERFORM "node_position_count_fold"(nodes); END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION "position_counts_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    nodes UUID[];
BEGIN
    WITH removed AS (
        INSERT INTO "node_position_count" ("portfolio_node_id", "status", "delta")
        SELECT "portfolio_node_id", "status", -count(*) FROM old_rows GROUP BY "portfolio_node_id", "status"
        RETURNING "portfolio_node_id"
    )
    SELECT array_agg(DISTINCT "portfolio_node_id") INTO nodes FROM removed;
    IF nodes IS NOT NULL THEN PERFORM "node_position_count_fold"(nodes); END IF;
    RETURN NULL;
END;
$$;

-- A position moved to another node or into another status (row-level, as before: closing or
-- deleting a position is a one-row write; transition tables cannot go with a column list).
CREATE OR REPLACE FUNCTION "position_counts_moved"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO "node_position_count" ("portfolio_node_id", "status", "delta")
    VALUES (OLD."portfolio_node_id", OLD."status", -1), (NEW."portfolio_node_id", NEW."status", 1);
    PERFORM "node_position_count_fold"(ARRAY[OLD."portfolio_node_id", NEW."portfolio_node_id"]);
    RETURN NULL;
END;
$$;

DROP TRIGGER "position_counts_move" ON "position";
CREATE TRIGGER "position_counts_move" AFTER UPDATE OF "portfolio_node_id", "status" ON "position" FOR EACH ROW
    WHEN (OLD."portfolio_node_id" IS DISTINCT FROM NEW."portfolio_node_id" OR OLD."status" IS DISTINCT FROM NEW."status")
    EXECUTE FUNCTION "position_counts_moved"();
