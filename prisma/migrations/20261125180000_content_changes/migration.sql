-- Snapshot dedup without rereading the subtree.
--
-- content_change: one row per write statement that may change what a snapshot
-- of a fund shows (positions, valuations, nodes of that fund; fund_id NULL for
-- writes that concern every fund, such as an instrument's identifiers). Rows
-- are only ever inserted, by statement-level triggers, in the writing
-- transaction: they become visible exactly when the write does, and the sum of
-- a fund's weights only grows. snapshot_probe remembers, per node and as-of
-- date, that sum (and the FX feed in force) when its snapshot was built: while
-- they are unchanged, the content is the same and the stored snapshot answers.

-- CreateTable
CREATE TABLE "content_change" (
    "id" BIGSERIAL NOT NULL,
    "fund_id" UUID,
    "weight" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "content_change_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "snapshot_probe" (
    "portfolio_node_id" UUID NOT NULL,
    "as_of_date" DATE NOT NULL,
    "fingerprint" VARCHAR(200) NOT NULL,
    "snapshot_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "snapshot_probe_pkey" PRIMARY KEY ("portfolio_node_id","as_of_date")
);

-- CreateIndex
CREATE INDEX "content_change_fund_id_idx" ON "content_change"("fund_id");

-- CreateIndex
CREATE INDEX "snapshot_probe_snapshot_id_idx" ON "snapshot_probe"("snapshot_id");

-- AddForeignKey
ALTER TABLE "snapshot_probe" ADD CONSTRAINT "snapshot_probe_portfolio_node_id_fkey" FOREIGN KEY ("portfolio_node_id") REFERENCES "portfolio_node"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "snapshot_probe" ADD CONSTRAINT "snapshot_probe_snapshot_id_fkey" FOREIGN KEY ("snapshot_id") REFERENCES "portfolio_snapshot"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddCheckConstraint
ALTER TABLE "content_change" ADD CONSTRAINT "content_change_weight_check" CHECK ("weight" > 0);

-- The fund of every existing node counts as changed once, so that no probe can match before a first write.
INSERT INTO "content_change" ("fund_id") VALUES (NULL);

-- Triggers: one function per table; each statement is planned when its branch first runs,
-- so a branch may name the transition tables of its own event only. Writes made by other
-- triggers (valid_to, fund_id maintenance) are covered by the statement that caused them.
CREATE FUNCTION "position_content_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO "content_change" ("fund_id")
        SELECT DISTINCT n."fund_id" FROM (SELECT DISTINCT "portfolio_node_id" FROM new_rows) c JOIN "portfolio_node" n ON n.id = c."portfolio_node_id";
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO "content_change" ("fund_id")
        SELECT DISTINCT n."fund_id" FROM (SELECT DISTINCT "portfolio_node_id" FROM old_rows) c JOIN "portfolio_node" n ON n.id = c."portfolio_node_id";
    ELSE
        INSERT INTO "content_change" ("fund_id")
        SELECT DISTINCT n."fund_id" FROM (SELECT "portfolio_node_id" FROM new_rows UNION SELECT "portfolio_node_id" FROM old_rows) c
        JOIN "portfolio_node" n ON n.id = c."portfolio_node_id";
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION "valuation_result_content_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO "content_change" ("fund_id")
        SELECT DISTINCT n."fund_id" FROM (SELECT DISTINCT "position_id" FROM new_rows) c
        JOIN "position" p ON p.id = c."position_id" JOIN "portfolio_node" n ON n.id = p."portfolio_node_id";
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO "content_change" ("fund_id")
        SELECT DISTINCT n."fund_id" FROM (SELECT DISTINCT "position_id" FROM old_rows) c
        JOIN "position" p ON p.id = c."position_id" JOIN "portfolio_node" n ON n.id = p."portfolio_node_id";
    ELSE
        INSERT INTO "content_change" ("fund_id")
        SELECT DISTINCT n."fund_id" FROM (SELECT "position_id" FROM new_rows UNION SELECT "position_id" FROM old_rows) c
        JOIN "position" p ON p.id = c."position_id" JOIN "portfolio_node" n ON n.id = p."portfolio_node_id";
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION "portfolio_node_content_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO "content_change" ("fund_id") SELECT DISTINCT "fund_id" FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO "content_change" ("fund_id") SELECT DISTINCT "fund_id" FROM old_rows;
    ELSE
        INSERT INTO "content_change" ("fund_id") SELECT "fund_id" FROM new_rows UNION SELECT "fund_id" FROM old_rows;
    END IF;
    RETURN NULL;
END;
$$;

-- An instrument's identifiers appear in snapshots of every fund holding it: log for all funds.
CREATE FUNCTION "instrument_content_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
    INSERT INTO "content_change" ("fund_id") VALUES (NULL);
    RETURN NULL;
END;
$$;

CREATE TRIGGER "position_content_insert" AFTER INSERT ON "position" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "position_content_changed"();
CREATE TRIGGER "position_content_update" AFTER UPDATE ON "position" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "position_content_changed"();
CREATE TRIGGER "position_content_delete" AFTER DELETE ON "position" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "position_content_changed"();
CREATE TRIGGER "valuation_result_content_insert" AFTER INSERT ON "valuation_result" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "valuation_result_content_changed"();
CREATE TRIGGER "valuation_result_content_update" AFTER UPDATE ON "valuation_result" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "valuation_result_content_changed"();
CREATE TRIGGER "valuation_result_content_delete" AFTER DELETE ON "valuation_result" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "valuation_result_content_changed"();
CREATE TRIGGER "portfolio_node_content_insert" AFTER INSERT ON "portfolio_node" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "portfolio_node_content_changed"();
CREATE TRIGGER "portfolio_node_content_update" AFTER UPDATE ON "portfolio_node" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "portfolio_node_content_changed"();
CREATE TRIGGER "portfolio_node_content_delete" AFTER DELETE ON "portfolio_node" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "portfolio_node_content_changed"();
CREATE TRIGGER "instrument_content_update" AFTER UPDATE ON "instrument" FOR EACH STATEMENT EXECUTE FUNCTION "instrument_content_changed"();
CREATE TRIGGER "instrument_content_delete" AFTER DELETE ON "instrument" FOR EACH STATEMENT EXECUTE FUNCTION "instrument_content_changed"();
