-- Position counts per node, kept by the database.
--
-- A tree view asks every node for its number of positions. Counting them from
-- the position index reads every entry of the subtree: 437,000 entries for the
-- largest fund at a million positions, most of the tree query's time. Instead,
-- statement-level triggers on position log, per statement and node, how many
-- positions it added (or removed, negative): a node's count is the sum of its
-- deltas. Rows are only inserted by writers (no lock on a shared counter, so
-- concurrent uploads into one node never wait for each other); once a node has
-- more than 32 rows, the writing statement folds them into one, under a
-- transaction-scoped advisory lock it only tries to take (a writer never waits
-- to fold), and only under READ COMMITTED, where each statement of the fold
-- sees every fold committed before it.

-- CreateTable
CREATE TABLE "node_position_count" (
    "id" BIGSERIAL NOT NULL,
    "portfolio_node_id" UUID NOT NULL,
    "delta" INTEGER NOT NULL,

    CONSTRAINT "node_position_count_pkey" PRIMARY KEY ("id")
);

-- CreateIndex: the sum for a node is an index-only scan.
CREATE INDEX "node_position_count_portfolio_node_id_delta_idx" ON "node_position_count"("portfolio_node_id", "delta");

-- Backfill
INSERT INTO "node_position_count" ("portfolio_node_id", "delta")
SELECT "portfolio_node_id", count(*) FROM "position" GROUP BY "portfolio_node_id";

CREATE FUNCTION "node_position_count_fold"(nodes UUID[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    node UUID;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN RETURN; END IF;
    FOR node IN
        SELECT c."portfolio_node_id" FROM "node_position_count" c WHERE c."portfolio_node_id" = ANY (nodes)
        GROUP BY c."portfolio_node_id" HAVING count(*) > 32 ORDER BY 1
    LOOP
        IF pg_try_advisory_xact_lock(hashtextextended('node_position_count:' || node::text, 0)) THEN
            WITH gone AS (DELETE FROM "node_position_count" WHERE "portfolio_node_id" = node RETURNING "delta")
            INSERT INTO "node_position_count" ("portfolio_node_id", "delta")
            SELECT node, sum("delta") FROM gone HAVING sum("delta") <> 0;
        END IF;
    END LOOP;
END;
$$;

-- One function per event: each branch names the transition tables of its own event only.
CREATE FUNCTION "position_counts_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    nodes UUID[];
BEGIN
    WITH added AS (
        INSERT INTO "node_position_count" ("portfolio_node_id", "delta")
        SELECT "portfolio_node_id", count(*) FROM new_rows GROUP BY "portfolio_node_id"
        RETURNING "portfolio_node_id"
    )
    SELECT array_agg("portfolio_node_id") INTO nodes FROM added;
    IF nodes IS NOT NULL THEN PERFORM "node_position_count_fold"(nodes); END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION "position_counts_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    nodes UUID[];
BEGIN
    WITH removed AS (
        INSERT INTO "node_position_count" ("portfolio_node_id", "delta")
        SELECT "portfolio_node_id", -count(*) FROM old_rows GROUP BY "portfolio_node_id"
        RETURNING "portfolio_node_id"
    )
    SELECT array_agg("portfolio_node_id") INTO nodes FROM removed;
    IF nodes IS NOT NULL THEN PERFORM "node_position_count_fold"(nodes); END IF;
    RETURN NULL;
END;
$$;

-- A position moved to another node (row-level: transition tables cannot go with a column
-- list, and most updates of position - statuses, latest valuations - leave the node alone).
CREATE FUNCTION "position_counts_moved"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO "node_position_count" ("portfolio_node_id", "delta")
    VALUES (OLD."portfolio_node_id", -1), (NEW."portfolio_node_id", 1);
    PERFORM "node_position_count_fold"(ARRAY[OLD."portfolio_node_id", NEW."portfolio_node_id"]);
    RETURN NULL;
END;
$$;

CREATE FUNCTION "position_counts_truncated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM "node_position_count";
    RETURN NULL;
END;
$$;

-- A deleted node holds no positions (position's foreign key); its rows sum to 0 and go with it.
CREATE FUNCTION "portfolio_node_counts_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM "node_position_count" c USING old_rows o WHERE c."portfolio_node_id" = o.id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER "position_counts_insert" AFTER INSERT ON "position" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "position_counts_inserted"();
CREATE TRIGGER "position_counts_delete" AFTER DELETE ON "position" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "position_counts_deleted"();
CREATE TRIGGER "position_counts_move" AFTER UPDATE OF "portfolio_node_id" ON "position" FOR EACH ROW
    WHEN (OLD."portfolio_node_id" IS DISTINCT FROM NEW."portfolio_node_id") EXECUTE FUNCTION "position_counts_moved"();
CREATE TRIGGER "position_counts_truncate" AFTER TRUNCATE ON "position" FOR EACH STATEMENT EXECUTE FUNCTION "position_counts_truncated"();
CREATE TRIGGER "portfolio_node_counts_delete" AFTER DELETE ON "portfolio_node" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "portfolio_node_counts_deleted"();
