-- As-of layout for analytics.
--
-- valuation_result.valid_to: the date of the position's next valuation (NULL
-- for its latest). The valuation in force on a date D is then the one row with
-- as_of_date <= D AND (valid_to IS NULL OR valid_to > D), so a subtree's values
-- come from one set-based join instead of one index probe per position.
-- reference_data.ultimate_parent_id: the root of an entity's parent chain
-- (itself when it has no parent), so issuer look-through is a column, not a
-- recursive walk per query. Both are kept by triggers, whoever writes.

-- AlterTable
ALTER TABLE "valuation_result" ADD COLUMN "valid_to" DATE;

-- AlterTable
ALTER TABLE "reference_data" ADD COLUMN "ultimate_parent_id" UUID;

-- CreateIndex
CREATE INDEX "reference_data_ultimate_parent_id_idx" ON "reference_data"("ultimate_parent_id");

-- AddForeignKey
ALTER TABLE "reference_data" ADD CONSTRAINT "reference_data_ultimate_parent_id_fkey" FOREIGN KEY ("ultimate_parent_id") REFERENCES "reference_data"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Indexes the Prisma schema cannot express (partial, covering); the drift test lists them.
-- The valuations in force today: one entry per valued position.
CREATE INDEX "valuation_result_current_xidx" ON "valuation_result" ("position_id") INCLUDE ("as_of_date", "market_value", "currency") WHERE "valid_to" IS NULL;
-- Superseded valuations by the date they stopped applying (for as-of dates in the past).
CREATE INDEX "valuation_result_valid_to_xidx" ON "valuation_result" ("valid_to") INCLUDE ("position_id", "as_of_date", "market_value", "currency") WHERE "valid_to" IS NOT NULL;

-- Backfill
UPDATE "valuation_result" v SET "valid_to" = n.next_date
FROM (SELECT id, lead("as_of_date") OVER (PARTITION BY "position_id" ORDER BY "as_of_date") AS next_date FROM "valuation_result") n
WHERE v.id = n.id AND n.next_date IS NOT NULL;

WITH RECURSIVE chain (id, root_id, path) AS (
    SELECT id, id, ARRAY[id] FROM "reference_data" WHERE "parent_entity_id" IS NULL
    UNION ALL
    SELECT c.id, t.root_id, t.path || c.id FROM "reference_data" c JOIN chain t ON c."parent_entity_id" = t.id WHERE c.id <> ALL (t.path)
)
UPDATE "reference_data" r SET "ultimate_parent_id" = chain.root_id FROM chain WHERE r.id = chain.id;

-- AddCheckConstraint
ALTER TABLE "valuation_result" ADD CONSTRAINT "valuation_result_valid_to_check" CHECK ("valid_to" IS NULL OR "valid_to" > "as_of_date");

-- valid_to of every valuation of the given positions, recomputed in one set-based statement;
-- rows already right are not touched.
CREATE FUNCTION "valuation_result_refresh_valid_to"(positions UUID[]) RETURNS void LANGUAGE sql AS $$
    UPDATE "valuation_result" v SET "valid_to" = n.next_date
    FROM (
        SELECT id, lead("as_of_date") OVER (PARTITION BY "position_id" ORDER BY "as_of_date") AS next_date
        FROM "valuation_result" WHERE "position_id" = ANY (positions)
    ) n
    WHERE v.id = n.id AND v."valid_to" IS DISTINCT FROM n.next_date;
$$;

CREATE FUNCTION "valuation_result_after_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() = 1 THEN
        PERFORM "valuation_result_refresh_valid_to"(ARRAY(SELECT DISTINCT "position_id" FROM new_rows));
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION "valuation_result_after_update"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() = 1 THEN
        PERFORM "valuation_result_refresh_valid_to"(ARRAY(
            SELECT "position_id" FROM new_rows UNION SELECT "position_id" FROM old_rows));
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION "valuation_result_after_delete"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() = 1 THEN
        PERFORM "valuation_result_refresh_valid_to"(ARRAY(SELECT DISTINCT "position_id" FROM old_rows));
    END IF;
    RETURN NULL;
END;
$$;

-- A valuation moved to another date or position loses its old validity before the CHECK sees it;
-- the statement trigger below then sets it again.
CREATE FUNCTION "valuation_result_before_update"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW."as_of_date" IS DISTINCT FROM OLD."as_of_date" OR NEW."position_id" IS DISTINCT FROM OLD."position_id" THEN
        NEW."valid_to" := NULL;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER "valuation_result_valid_to_moved" BEFORE UPDATE OF "as_of_date", "position_id" ON "valuation_result"
    FOR EACH ROW EXECUTE FUNCTION "valuation_result_before_update"();
CREATE TRIGGER "valuation_result_valid_to_insert" AFTER INSERT ON "valuation_result"
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "valuation_result_after_insert"();
CREATE TRIGGER "valuation_result_valid_to_update" AFTER UPDATE ON "valuation_result"
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "valuation_result_after_update"();
CREATE TRIGGER "valuation_result_valid_to_delete" AFTER DELETE ON "valuation_result"
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "valuation_result_after_delete"();

-- Ultimate parents, as portfolio_node.fund_id: found by walking up, carried along on a move.
CREATE FUNCTION "reference_data_set_ultimate_parent"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW."parent_entity_id" IS NULL THEN
        NEW."ultimate_parent_id" := NEW."id";
    ELSE
        WITH RECURSIVE up (id, parent_id, path) AS (
            SELECT p.id, p."parent_entity_id", ARRAY[NEW."id", p.id] FROM "reference_data" p WHERE p.id = NEW."parent_entity_id"
            UNION ALL
            SELECT p.id, p."parent_entity_id", u.path || p.id FROM "reference_data" p JOIN up u ON p.id = u.parent_id WHERE p.id <> ALL (u.path)
        )
        SELECT id INTO NEW."ultimate_parent_id" FROM up WHERE parent_id IS NULL;
    END IF;
    RETURN NEW;
END;
$$;

CREATE FUNCTION "reference_data_move_ultimate_parent"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH RECURSIVE below (id, path) AS (
        SELECT c.id, ARRAY[NEW."id", c.id] FROM "reference_data" c WHERE c."parent_entity_id" = NEW."id"
        UNION ALL
        SELECT c.id, b.path || c.id FROM "reference_data" c JOIN below b ON c."parent_entity_id" = b.id WHERE c.id <> ALL (b.path)
    )
    UPDATE "reference_data" SET "ultimate_parent_id" = NEW."ultimate_parent_id"
    WHERE "id" IN (SELECT id FROM below) AND "ultimate_parent_id" IS DISTINCT FROM NEW."ultimate_parent_id";
    RETURN NULL;
END;
$$;

CREATE TRIGGER "reference_data_set_ultimate_parent" BEFORE INSERT OR UPDATE OF "parent_entity_id", "ultimate_parent_id" ON "reference_data"
    FOR EACH ROW EXECUTE FUNCTION "reference_data_set_ultimate_parent"();
CREATE TRIGGER "reference_data_move_ultimate_parent" AFTER UPDATE OF "parent_entity_id" ON "reference_data"
    FOR EACH ROW WHEN (OLD."ultimate_parent_id" IS DISTINCT FROM NEW."ultimate_parent_id")
    EXECUTE FUNCTION "reference_data_move_ultimate_parent"();
