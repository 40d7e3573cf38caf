-- Versions for cached analytics results.
--
-- An exposure or market value of a node as of a date, in a currency, depends on
-- the fund's holdings (content_change, the previous migration), the FX feed in
-- force (identified by its id: feeds are written once), and reference data:
-- issuers' parents, sectors and countries, and ratings. reference_change logs
-- every write statement to reference_data and rating_history (and any change to
-- a stored feed or its rates, which the service never makes), so the sum of its
-- weights, like content_change's, only grows and names the version of
-- everything else an analytics result was computed from. Kept apart from
-- content_change so that a ratings feed does not make every snapshot probe stale.

-- CreateTable
CREATE TABLE "reference_change" (
    "id" BIGSERIAL NOT NULL,
    "weight" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "reference_change_pkey" PRIMARY KEY ("id")
);

-- AddCheckConstraint
ALTER TABLE "reference_change" ADD CONSTRAINT "reference_change_weight_check" CHECK ("weight" > 0);

INSERT INTO "reference_change" DEFAULT VALUES;

-- A feed and its rates are written once; a write to a stored one (by hand) also changes what
-- snapshots show, so it counts for every fund's content too.
CREATE FUNCTION "reference_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
    INSERT INTO "reference_change" DEFAULT VALUES;
    IF TG_TABLE_NAME IN ('market_data_feed', 'fx_spot') THEN
        INSERT INTO "content_change" ("fund_id") VALUES (NULL);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER "reference_data_reference_change" AFTER INSERT OR UPDATE OR DELETE ON "reference_data" FOR EACH STATEMENT EXECUTE FUNCTION "reference_changed"();
CREATE TRIGGER "rating_history_reference_change" AFTER INSERT OR UPDATE OR DELETE ON "rating_history" FOR EACH STATEMENT EXECUTE FUNCTION "reference_changed"();
CREATE TRIGGER "market_data_feed_reference_change" AFTER UPDATE OR DELETE ON "market_data_feed" FOR EACH STATEMENT EXECUTE FUNCTION "reference_changed"();
CREATE TRIGGER "fx_spot_reference_change" AFTER UPDATE OR DELETE ON "fx_spot" FOR EACH STATEMENT EXECUTE FUNCTION "reference_changed"();

-- TRUNCATE fires no row or DELETE trigger: count it for every fund and for reference data, so
-- that a version never comes back to a value it had before (content_change and
-- reference_change themselves are never truncated by the service).
CREATE FUNCTION "truncated_changes"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO "content_change" ("fund_id") VALUES (NULL);
    INSERT INTO "reference_change" DEFAULT VALUES;
    RETURN NULL;
END;
$$;

CREATE TRIGGER "position_truncated" AFTER TRUNCATE ON "position" FOR EACH STATEMENT EXECUTE FUNCTION "truncated_changes"();
CREATE TRIGGER "valuation_result_truncated" AFTER TRUNCATE ON "valuation_result" FOR EACH STATEMENT EXECUTE FUNCTION "truncated_changes"();
CREATE TRIGGER "portfolio_node_truncated" AFTER TRUNCATE ON "portfolio_node" FOR EACH STATEMENT EXECUTE FUNCTION "truncated_changes"();
CREATE TRIGGER "instrument_truncated" AFTER TRUNCATE ON "instrument" FOR EACH STATEMENT EXECUTE FUNCTION "truncated_changes"();
CREATE TRIGGER "reference_data_truncated" AFTER TRUNCATE ON "reference_data" FOR EACH STATEMENT EXECUTE FUNCTION "truncated_changes"();
CREATE TRIGGER "rating_history_truncated" AFTER TRUNCATE ON "rating_history" FOR EACH STATEMENT EXECUTE FUNCTION "truncated_changes"();
CREATE TRIGGER "market_data_feed_truncated" AFTER TRUNCATE ON "market_data_feed" FOR EACH STATEMENT EXECUTE FUNCTION "truncated_changes"();
CREATE TRIGGER "fx_spot_truncated" AFTER TRUNCATE ON "fx_spot" FOR EACH STATEMENT EXECUTE FUNCTION "truncated_changes"();
