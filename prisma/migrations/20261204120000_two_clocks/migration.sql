-- Two clocks: valid time (business dates: when something was true) and
-- recorded time (when the service learned it). Nothing recorded is
-- overwritten: a correction is a new version that supersedes the old one from
-- the moment it is recorded, so the same question with the same asOf and
-- knownAt gets the same answer whatever is written later.
--
--   position_version     a position's holdings over valid time [valid_from, valid_to),
--                        each version with [recorded_at, superseded_at); position keeps a
--                        summary of its latest state as known now (quantity, status,
--                        opened_on, closed_on, state_from) for the present's fast paths;
--   valuation_result,    every recorded version kept: a correction supersedes the
--   rating_history       current row (superseded_at) and inserts a new one;
--   market_data_feed     recorded_at: a later feed for the same date restates it;
--   portfolio_node_version, reference_data_version, instrument_version
--                        every recorded state of a node's / entity's / instrument's
--                        fields, kept by triggers on the base tables, whoever writes.
--
-- Recorded time comes from recording_stamp(): one stamp per transaction,
-- taken when the transaction first records something, under a shared
-- transaction-scoped advisory lock whose key carries the stamp's millisecond
-- (28772 << 48 | epoch ms). While the transaction runs, pg_locks shows that
-- key to every session: a read pinned at a knownAt on or after it must wait
-- (or be refused), because the transaction's rows, stamped before that
-- knownAt, are not visible yet (src/services/time/knownAt.ts). A knownAt
-- before every key in flight is final: any transaction that records later
-- takes its stamp after the reader looked, so after the knownAt.

CREATE EXTENSION IF NOT EXISTS btree_gist;

-- ------------------------------------------------------------- recording stamps

CREATE FUNCTION "recording_stamp"() RETURNS TIMESTAMPTZ LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    stamp TEXT := current_setting('pds.recording_stamp', true);
BEGIN
    IF stamp IS NULL OR stamp = '' THEN
        -- The lock first, then the clock: a reader that does not see the lock yet looked
        -- before the stamp was taken.
        PERFORM pg_advisory_xact_lock_shared((28772::BIGINT << 48) | floor(extract(epoch FROM clock_timestamp()) * 1000)::BIGINT);
        stamp := to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00"');
        PERFORM set_config('pds.recording_stamp', stamp, true);
    END IF;
    RETURN stamp::TIMESTAMPTZ;
END;
$$;

-- The stamp with which this transaction supersedes a version recorded at `recorded`. A version
-- recorded by a transaction whose stamp is later than ours (it committed while we ran) cannot be
-- superseded from an earlier moment: retry the transaction (40001, serialization_failure).
CREATE FUNCTION "superseding_stamp"(recorded TIMESTAMPTZ) RETURNS TIMESTAMPTZ LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    stamp TIMESTAMPTZ := "recording_stamp"();
BEGIN
    IF stamp <= recorded THEN
        RAISE EXCEPTION 'a version recorded at % cannot be superseded at %: retry the transaction', recorded, stamp USING ERRCODE = '40001';
    END IF;
    RETURN stamp;
END;
$$;

-- The earliest recording stamp (to the millisecond, rounded down) of a transaction of this
-- database still in flight, other than the caller's; NULL when none. (Advisory locks belong to a
-- database: writers of another database on the same server are no concern.)
CREATE FUNCTION "recording_horizon"() RETURNS TIMESTAMPTZ LANGUAGE sql STABLE AS $$
    SELECT to_timestamp(min(((l.classid::BIGINT & 65535) << 32) | l.objid::BIGINT) / 1000.0)
    FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND (l.classid::BIGINT >> 16) = 28772 AND l.pid <> pg_backend_pid()
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database());
$$;

-- --------------------------------------------------------------- positions

-- AlterTable: the latest state as known now, kept from the versions.
ALTER TABLE "position" ADD COLUMN "opened_on" DATE,
ADD COLUMN "closed_on" DATE,
ADD COLUMN "state_from" DATE;

-- CreateTable
CREATE TABLE "position_version" (
    "id" BIGSERIAL NOT NULL,
    "position_id" UUID NOT NULL,
    "valid_from" DATE NOT NULL,
    "valid_to" DATE,
    "quantity" DECIMAL(28,10) NOT NULL,
    "status" "position_status" NOT NULL,
    "recorded_at" TIMESTAMPTZ(6) NOT NULL DEFAULT "recording_stamp"(),
    "superseded_at" TIMESTAMPTZ(6),

    CONSTRAINT "position_version_pkey" PRIMARY KEY ("id")
);

-- AddForeignKey
ALTER TABLE "position_version" ADD CONSTRAINT "position_version_position_id_fkey" FOREIGN KEY ("position_id") REFERENCES "position"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Backfill. Each existing position is held from the earlier of its creation date and its first
-- valuation date. What was believed from its creation is recorded then; a CLOSED or DELETED
-- one was believed held until its last update, when the close (on that date) or the deletion
-- was recorded.
UPDATE "position" SET "opened_on" = ("created_at" AT TIME ZONE 'UTC')::DATE;
UPDATE "position" p SET "opened_on" = f.first_date
FROM (SELECT "position_id", min("as_of_date") AS first_date FROM "valuation_result" GROUP BY "position_id") f
WHERE f."position_id" = p.id AND f.first_date < p."opened_on";
UPDATE "position" SET "closed_on" = GREATEST("opened_on", ("updated_at" AT TIME ZONE 'UTC')::DATE) WHERE "status" = 'CLOSED';
UPDATE "position" SET "state_from" = COALESCE("closed_on", "opened_on");

INSERT INTO "position_version" ("position_id", "valid_from", "valid_to", "quantity", "status", "recorded_at", "superseded_at")
SELECT id, "opened_on", NULL, "quantity", 'ACTIVE', "created_at",
       CASE WHEN "status" <> 'ACTIVE' AND "updated_at" > "created_at" THEN "updated_at" END
FROM "position" WHERE "status" = 'ACTIVE' OR "updated_at" > "created_at";
INSERT INTO "position_version" ("position_id", "valid_from", "valid_to", "quantity", "status", "recorded_at")
SELECT id, "opened_on", "closed_on", "quantity", 'ACTIVE'::"position_status", "updated_at" FROM "position"
WHERE "status" = 'CLOSED' AND "closed_on" > "opened_on"
UNION ALL
SELECT id, "closed_on", NULL, "quantity", 'CLOSED'::"position_status", "updated_at" FROM "position" WHERE "status" = 'CLOSED'
UNION ALL
SELECT id, "opened_on", NULL, "quantity", 'DELETED'::"position_status", "updated_at" FROM "position" WHERE "status" = 'DELETED';

ALTER TABLE "position" ALTER COLUMN "opened_on" SET NOT NULL, ALTER COLUMN "opened_on" SET DEFAULT CURRENT_DATE,
ALTER COLUMN "state_from" SET NOT NULL, ALTER COLUMN "state_from" SET DEFAULT CURRENT_DATE;

-- AddCheckConstraint
ALTER TABLE "position" ADD CONSTRAINT "position_dates_check" CHECK (
    "state_from" >= "opened_on"
    AND ("closed_on" IS NOT NULL) = ("status" = 'CLOSED')
    AND ("closed_on" IS NULL OR "closed_on" = "state_from")
    AND ("status" <> 'DELETED' OR "state_from" = "opened_on"));
ALTER TABLE "position_version" ADD CONSTRAINT "position_version_quantity_check" CHECK ("quantity" <> 'NaN'::numeric);
-- Half-open ranges, never empty (an empty range slips past an overlap check).
ALTER TABLE "position_version" ADD CONSTRAINT "position_version_valid_check" CHECK ("valid_to" IS NULL OR "valid_to" > "valid_from");
ALTER TABLE "position_version" ADD CONSTRAINT "position_version_recorded_check" CHECK ("superseded_at" IS NULL OR "superseded_at" > "recorded_at");
-- As known at any moment, a position's versions never overlap in valid time.
ALTER TABLE "position_version" ADD CONSTRAINT "position_version_no_overlap_xexcl" EXCLUDE USING gist (
    "position_id" WITH =, daterange("valid_from", "valid_to") WITH &&, tstzrange("recorded_at", "superseded_at") WITH &&);

-- CreateIndex: versions known now that ended (a later change took over): for a date D, the positions
-- changed since D are those with a version ending after D; every other position's state on D is its
-- latest (the summary on position), so the present reads no version at all.
CREATE INDEX "position_version_valid_to_xidx" ON "position_version" ("valid_to") INCLUDE ("position_id", "valid_from", "quantity", "status")
    WHERE "superseded_at" IS NULL AND "valid_to" IS NOT NULL;
-- CreateIndex: every version of a position (its history, its versions known now or at a knownAt:
-- a position has few). Uploads write one entry here, one in the exclusion constraint's index.
CREATE INDEX "position_version_position_id_valid_from_idx" ON "position_version"("position_id", "valid_from");

-- New positions: ACTIVE ones held from opened_on; CLOSED ones (a direct insert) held until
-- closed_on (opened_on when not given); DELETED ones never held. The summary columns follow.
CREATE FUNCTION "position_before_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW."status" = 'CLOSED' THEN
        NEW."closed_on" := GREATEST(COALESCE(NEW."closed_on", NEW."opened_on"), NEW."opened_on");
        NEW."state_from" := NEW."closed_on";
    ELSE
        NEW."closed_on" := NULL;
        NEW."state_from" := NEW."opened_on";
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER "position_summary_insert" BEFORE INSERT ON "position" FOR EACH ROW
    WHEN (NEW."status" <> 'ACTIVE' OR NEW."closed_on" IS NOT NULL OR NEW."state_from" IS DISTINCT FROM NEW."opened_on")
    EXECUTE FUNCTION "position_before_insert"();

-- A bulk loader that writes the versions itself (npm run seed, with their recorded history) says
-- so for its transaction: SET LOCAL pds.position_versions = 'loader'.
CREATE FUNCTION "position_versions_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('pds.position_versions', true) = 'loader' THEN RETURN NULL; END IF;
    INSERT INTO "position_version" ("position_id", "valid_from", "valid_to", "quantity", "status")
    SELECT id, "opened_on", "closed_on", "quantity", CASE WHEN "status" = 'DELETED' THEN 'DELETED'::"position_status" ELSE 'ACTIVE' END
    FROM new_rows WHERE "closed_on" IS NULL OR "closed_on" > "opened_on"
    UNION ALL
    SELECT id, "closed_on", NULL, "quantity", 'CLOSED'::"position_status" FROM new_rows WHERE "status" = 'CLOSED';
    RETURN NULL;
END;
$$;
CREATE TRIGGER "position_versions_insert" AFTER INSERT ON "position"
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "position_versions_inserted"();

-- A change to a position's versions as known from this transaction on:
--   ADJUST  quantity `qty` from `eff` until the position's next change (the version in force on
--           eff is split; later versions are kept);
--   CLOSE   not held from `eff` on (versions from eff on are superseded; the close keeps the
--           quantity last held);
--   DELETE  entered in error: never held (every version superseded by one DELETED version).
-- The caller holds the position's row lock and has checked the dates; nothing here touches the
-- position row (position_change below, or the update trigger, writes its summary). A version
-- recorded earlier in this same transaction was never visible to anyone: it is deleted, not
-- superseded.
CREATE FUNCTION "position_versions_change"(pid UUID, kind TEXT, qty NUMERIC, eff DATE) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    stamp TIMESTAMPTZ := "recording_stamp"();
    v RECORD;
    last_qty NUMERIC;
BEGIN
    IF kind = 'ADJUST' THEN
        SELECT * INTO v FROM "position_version"
        WHERE "position_id" = pid AND "superseded_at" IS NULL AND "valid_from" <= eff AND ("valid_to" IS NULL OR "valid_to" > eff);
        IF NOT FOUND OR v."status" <> 'ACTIVE' THEN
            RAISE EXCEPTION 'position % is not held on %', pid, eff USING ERRCODE = 'P0001';
        END IF;
        IF v."quantity" = qty THEN RETURN; END IF;
        PERFORM "position_version_retire"(v.id, v."recorded_at", stamp);
        IF v."valid_from" < eff THEN
            INSERT INTO "position_version" ("position_id", "valid_from", "valid_to", "quantity", "status")
            VALUES (pid, v."valid_from", eff, v."quantity", 'ACTIVE');
        END IF;
        INSERT INTO "position_version" ("position_id", "valid_from", "valid_to", "quantity", "status")
        VALUES (pid, eff, v."valid_to", qty, 'ACTIVE');
    ELSIF kind = 'CLOSE' THEN
        SELECT "quantity" INTO last_qty FROM "position_version"
        WHERE "position_id" = pid AND "superseded_at" IS NULL AND "valid_from" < eff AND "status" = 'ACTIVE'
        ORDER BY "valid_from" DESC LIMIT 1;
        IF NOT FOUND THEN
            SELECT "quantity" INTO last_qty FROM "position_version" WHERE "position_id" = pid AND "superseded_at" IS NULL ORDER BY "valid_from" LIMIT 1;
        END IF;
        FOR v IN SELECT * FROM "position_version" WHERE "position_id" = pid AND "superseded_at" IS NULL AND ("valid_to" IS NULL OR "valid_to" > eff) ORDER BY "valid_from" LOOP
            PERFORM "position_version_retire"(v.id, v."recorded_at", stamp);
            IF v."valid_from" < eff THEN
                INSERT INTO "position_version" ("position_id", "valid_from", "valid_to", "quantity", "status")
                VALUES (pid, v."valid_from", eff, v."quantity", v."status");
            END IF;
        END LOOP;
        INSERT INTO "position_version" ("position_id", "valid_from", "valid_to", "quantity", "status")
        VALUES (pid, eff, NULL, last_qty, 'CLOSED');
    ELSIF kind = 'DELETE' THEN
        SELECT "quantity" INTO last_qty FROM "position_version"
        WHERE "position_id" = pid AND "superseded_at" IS NULL ORDER BY "valid_from" DESC LIMIT 1;
        FOR v IN SELECT * FROM "position_version" WHERE "position_id" = pid AND "superseded_at" IS NULL LOOP
            PERFORM "position_version_retire"(v.id, v."recorded_at", stamp);
        END LOOP;
        INSERT INTO "position_version" ("position_id", "valid_from", "valid_to", "quantity", "status")
        SELECT pid, "opened_on", NULL, last_qty, 'DELETED' FROM "position" WHERE id = pid;
    ELSE
        RAISE EXCEPTION 'unknown position change %', kind;
    END IF;
END;
$$;

-- Supersedes a current version from this transaction's stamp on; one recorded by this same
-- transaction (never visible to anyone) is removed instead.
CREATE FUNCTION "position_version_retire"(vid BIGINT, recorded TIMESTAMPTZ, stamp TIMESTAMPTZ) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF recorded = stamp THEN
        DELETE FROM "position_version" WHERE id = vid;
    ELSE
        UPDATE "position_version" SET "superseded_at" = "superseding_stamp"(recorded) WHERE id = vid;
    END IF;
END;
$$;

-- The latest state of a position as known now, from its current versions.
CREATE FUNCTION "position_summary"(pid UUID, OUT quantity NUMERIC, OUT status "position_status", OUT opened_on DATE, OUT closed_on DATE, OUT state_from DATE)
LANGUAGE sql STABLE AS $$
    SELECT l."quantity", l."status", f.first_date, CASE WHEN l."status" = 'CLOSED' THEN l."valid_from" END, l."valid_from"
    FROM (SELECT min("valid_from") AS first_date FROM "position_version" WHERE "position_id" = pid AND "superseded_at" IS NULL) f,
         LATERAL (SELECT "quantity", "status", "valid_from" FROM "position_version"
                  WHERE "position_id" = pid AND "superseded_at" IS NULL ORDER BY "valid_from" DESC LIMIT 1) l;
$$;

-- A change, and the position's summary after it (the service's way in; any client may call it).
CREATE FUNCTION "position_change"(pid UUID, kind TEXT, qty NUMERIC, eff DATE) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM "position" WHERE id = pid FOR NO KEY UPDATE;
    PERFORM "position_versions_change"(pid, kind, qty, eff);
    PERFORM set_config('pds.position_summary', 'on', true);
    UPDATE "position" p SET ("quantity", "status", "opened_on", "closed_on", "state_from") =
        (SELECT s.quantity, s.status, s.opened_on, s.closed_on, s.state_from FROM "position_summary"(pid) s)
    WHERE p.id = pid;
    PERFORM set_config('pds.position_summary', 'off', true);
END;
$$;

-- A direct UPDATE of a position's quantity or status (by a client that does not call
-- position_change) is recorded as a change effective today: a new quantity adjusts, CLOSED
-- closes, DELETED deletes. Reopening, or setting the dates directly, is refused.
CREATE FUNCTION "position_before_update"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s RECORD;
BEGIN
    IF current_setting('pds.position_summary', true) = 'on' THEN RETURN NEW; END IF;
    IF NEW."opened_on" IS DISTINCT FROM OLD."opened_on" OR NEW."closed_on" IS DISTINCT FROM OLD."closed_on"
       OR NEW."state_from" IS DISTINCT FROM OLD."state_from" THEN
        RAISE EXCEPTION 'a position''s dates follow its versions: use position_change(id, kind, quantity, date)' USING ERRCODE = '23514';
    END IF;
    IF NEW."status" <> OLD."status" THEN
        IF OLD."status" = 'DELETED' OR (OLD."status" = 'CLOSED' AND NEW."status" = 'ACTIVE') THEN
            RAISE EXCEPTION 'position % cannot go from % to %', OLD.id, OLD."status", NEW."status" USING ERRCODE = '23514';
        END IF;
        IF NEW."status" = 'DELETED' THEN
            PERFORM "position_versions_change"(OLD.id, 'DELETE', NULL, NULL);
        ELSE
            PERFORM "position_versions_change"(OLD.id, 'CLOSE', NULL, GREATEST(CURRENT_DATE, OLD."opened_on"));
        END IF;
    ELSIF NEW."quantity" <> OLD."quantity" THEN
        IF OLD."status" <> 'ACTIVE' THEN
            RAISE EXCEPTION 'position % is %: its quantity cannot change', OLD.id, OLD."status" USING ERRCODE = '23514';
        END IF;
        PERFORM "position_versions_change"(OLD.id, 'ADJUST', NEW."quantity", GREATEST(CURRENT_DATE, OLD."state_from"));
    END IF;
    SELECT * INTO s FROM "position_summary"(OLD.id);
    NEW."quantity" := s.quantity;
    NEW."status" := s.status;
    NEW."opened_on" := s.opened_on;
    NEW."closed_on" := s.closed_on;
    NEW."state_from" := s.state_from;
    RETURN NEW;
END;
$$;
CREATE TRIGGER "position_summary_update" BEFORE UPDATE ON "position" FOR EACH ROW
    WHEN (NEW."quantity" IS DISTINCT FROM OLD."quantity" OR NEW."status" IS DISTINCT FROM OLD."status"
          OR NEW."opened_on" IS DISTINCT FROM OLD."opened_on" OR NEW."closed_on" IS DISTINCT FROM OLD."closed_on"
          OR NEW."state_from" IS DISTINCT FROM OLD."state_from")
    EXECUTE FUNCTION "position_before_update"();

-- ------------------------------------------------------------- valuations

ALTER TABLE "valuation_result" ADD COLUMN "recorded_at" TIMESTAMPTZ(6),
ADD COLUMN "superseded_at" TIMESTAMPTZ(6);
-- Backfill: existing valuations are their first recorded versions, known from their last write
-- (a value replaced in place before versions existed was not known before it was written; the value
-- it replaced is lost). The valid_to trigger has nothing to recompute here: off for this statement.
ALTER TABLE "valuation_result" DISABLE TRIGGER "valuation_result_valid_to_update";
UPDATE "valuation_result" SET "recorded_at" = GREATEST("created_at", "updated_at");
ALTER TABLE "valuation_result" ENABLE TRIGGER "valuation_result_valid_to_update";
ALTER TABLE "valuation_result" ALTER COLUMN "recorded_at" SET NOT NULL, ALTER COLUMN "recorded_at" SET DEFAULT "recording_stamp"();
ALTER TABLE "valuation_result" ADD CONSTRAINT "valuation_result_recorded_check" CHECK ("superseded_at" IS NULL OR "superseded_at" > "recorded_at");

-- DropIndex: one current valuation per position and date; corrections keep the earlier ones.
DROP INDEX "valuation_result_position_id_as_of_date_key";
CREATE UNIQUE INDEX "valuation_result_current_date_xidx" ON "valuation_result" ("position_id", "as_of_date") WHERE "superseded_at" IS NULL;
-- The in-force indexes cover current versions only.
DROP INDEX "valuation_result_current_xidx";
DROP INDEX "valuation_result_valid_to_xidx";
CREATE INDEX "valuation_result_current_xidx" ON "valuation_result" ("position_id") INCLUDE ("as_of_date", "market_value", "currency")
    WHERE "valid_to" IS NULL AND "superseded_at" IS NULL;
CREATE INDEX "valuation_result_valid_to_xidx" ON "valuation_result" ("valid_to") INCLUDE ("position_id", "as_of_date", "market_value", "currency")
    WHERE "valid_to" IS NOT NULL AND "superseded_at" IS NULL;

-- valid_to and the position's latest valuation come from current versions; a superseded
-- version keeps no valid_to.
CREATE OR REPLACE FUNCTION "valuation_result_refresh_valid_to"(positions UUID[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM "position" WHERE id = ANY (positions) ORDER BY id FOR NO KEY UPDATE;
    UPDATE "valuation_result" v SET "valid_to" = n.next_date
    FROM (
        SELECT id, CASE WHEN "superseded_at" IS NULL
                   THEN lead("as_of_date") OVER (PARTITION BY "position_id", "superseded_at" IS NULL ORDER BY "as_of_date") END AS next_date
        FROM "valuation_result" WHERE "position_id" = ANY (positions)
    ) n
    WHERE v.id = n.id AND v."valid_to" IS DISTINCT FROM n.next_date;
    UPDATE "position" p SET "latest_as_of" = l."as_of_date", "latest_market_value" = l."market_value", "latest_currency" = l."currency"
    FROM (
        SELECT k.id, v."as_of_date", v."market_value", v."currency"
        FROM unnest(positions) AS k(id)
        LEFT JOIN LATERAL (
            SELECT "as_of_date", "market_value", "currency" FROM "valuation_result"
            WHERE "position_id" = k.id AND "superseded_at" IS NULL ORDER BY "as_of_date" DESC LIMIT 1
        ) v ON true
    ) l
    WHERE p.id = l.id
      AND (p."latest_as_of", p."latest_market_value", p."latest_currency") IS DISTINCT FROM (l."as_of_date", l."market_value", l."currency");
END;
$$;
UPDATE "valuation_result" SET "valid_to" = NULL WHERE "superseded_at" IS NOT NULL AND "valid_to" IS NOT NULL;

-- ----------------------------------------------------------------- ratings

ALTER TABLE "rating_history" ADD COLUMN "recorded_at" TIMESTAMPTZ(6),
ADD COLUMN "superseded_at" TIMESTAMPTZ(6);
UPDATE "rating_history" SET "recorded_at" = "created_at";
ALTER TABLE "rating_history" ALTER COLUMN "recorded_at" SET NOT NULL, ALTER COLUMN "recorded_at" SET DEFAULT "recording_stamp"();
ALTER TABLE "rating_history" ADD CONSTRAINT "rating_history_recorded_check" CHECK ("superseded_at" IS NULL OR "superseded_at" > "recorded_at");
DROP INDEX "rating_history_entity_id_agency_as_of_date_key";
CREATE UNIQUE INDEX "rating_history_current_date_xidx" ON "rating_history" ("entity_id", "agency", "as_of_date") WHERE "superseded_at" IS NULL;

-- ------------------------------------------------------------------- feeds

ALTER TABLE "market_data_feed" ADD COLUMN "recorded_at" TIMESTAMPTZ(6);
UPDATE "market_data_feed" SET "recorded_at" = "created_at";
ALTER TABLE "market_data_feed" ALTER COLUMN "recorded_at" SET NOT NULL, ALTER COLUMN "recorded_at" SET DEFAULT "recording_stamp"();

-- ------------------------------------------------------------------ hierarchy

-- Every recorded state of a node (name, level, parent, currency, tags, fund): a move or a rename
-- is recorded too, so that a question pinned at a knownAt walks the tree as it stood then.
-- CreateTable
CREATE TABLE "portfolio_node_version" (
    "id" BIGSERIAL NOT NULL,
    "node_id" UUID NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "node_type" "node_type" NOT NULL,
    "parent_id" UUID,
    "base_ccy" CHAR(3) NOT NULL,
    "tags_json" JSONB NOT NULL DEFAULT '{}',
    "fund_id" UUID,
    "recorded_at" TIMESTAMPTZ(6) NOT NULL DEFAULT "recording_stamp"(),
    "superseded_at" TIMESTAMPTZ(6),

    CONSTRAINT "portfolio_node_version_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "portfolio_node_version_node_id_recorded_at_idx" ON "portfolio_node_version"("node_id", "recorded_at");
-- CreateIndex: the walk down the tree as known at a moment.
CREATE INDEX "portfolio_node_version_parent_id_idx" ON "portfolio_node_version"("parent_id");

-- AddForeignKey
ALTER TABLE "portfolio_node_version" ADD CONSTRAINT "portfolio_node_version_node_id_fkey" FOREIGN KEY ("node_id") REFERENCES "portfolio_node"("id") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "portfolio_node_version" ADD CONSTRAINT "portfolio_node_version_recorded_check" CHECK ("superseded_at" IS NULL OR "superseded_at" > "recorded_at");
ALTER TABLE "portfolio_node_version" ADD CONSTRAINT "portfolio_node_version_no_overlap_xexcl" EXCLUDE USING gist (
    "node_id" WITH =, tstzrange("recorded_at", "superseded_at") WITH &&);

-- Backfill: each node as it stands, recorded when it was created.
INSERT INTO "portfolio_node_version" ("node_id", "name", "node_type", "parent_id", "base_ccy", "tags_json", "fund_id", "recorded_at")
SELECT id, "name", "node_type", "parent_id", "base_ccy", "tags_json", "fund_id", "created_at" FROM "portfolio_node";

CREATE FUNCTION "portfolio_node_versioned"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    stamp TIMESTAMPTZ := "recording_stamp"();
BEGIN
    DELETE FROM "portfolio_node_version" WHERE "node_id" = NEW.id AND "superseded_at" IS NULL AND "recorded_at" = stamp;
    UPDATE "portfolio_node_version" SET "superseded_at" = "superseding_stamp"("recorded_at")
    WHERE "node_id" = NEW.id AND "superseded_at" IS NULL;
    INSERT INTO "portfolio_node_version" ("node_id", "name", "node_type", "parent_id", "base_ccy", "tags_json", "fund_id", "recorded_at")
    VALUES (NEW.id, NEW."name", NEW."node_type", NEW."parent_id", NEW."base_ccy", NEW."tags_json", NEW."fund_id", stamp);
    RETURN NULL;
END;
$$;
CREATE TRIGGER "portfolio_node_version_insert" AFTER INSERT ON "portfolio_node" FOR EACH ROW EXECUTE FUNCTION "portfolio_node_versioned"();
CREATE TRIGGER "portfolio_node_version_update" AFTER UPDATE ON "portfolio_node" FOR EACH ROW
    WHEN ((OLD."name", OLD."node_type", OLD."parent_id", OLD."base_ccy", OLD."tags_json", OLD."fund_id")
          IS DISTINCT FROM (NEW."name", NEW."node_type", NEW."parent_id", NEW."base_ccy", NEW."tags_json", NEW."fund_id"))
    EXECUTE FUNCTION "portfolio_node_versioned"();

-- ---------------------------------------------- reference data and instruments

-- CreateTable
CREATE TABLE "reference_data_version" (
    "id" BIGSERIAL NOT NULL,
    "entity_id" UUID NOT NULL,
    "entity_type" "reference_entity_type" NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "code" VARCHAR(16),
    "ticker" VARCHAR(32),
    "cusip" CHAR(9),
    "isin" CHAR(12),
    "lei" CHAR(20),
    "parent_entity_id" UUID,
    "sector_id" UUID,
    "geography_id" UUID,
    "ultimate_parent_id" UUID,
    "attributes_json" JSONB NOT NULL DEFAULT '{}',
    "recorded_at" TIMESTAMPTZ(6) NOT NULL DEFAULT "recording_stamp"(),
    "superseded_at" TIMESTAMPTZ(6),

    CONSTRAINT "reference_data_version_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "instrument_version" (
    "id" BIGSERIAL NOT NULL,
    "instrument_id" UUID NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "asset_class" "asset_class" NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "isin" CHAR(12),
    "cusip" CHAR(9),
    "ticker" VARCHAR(32),
    "issuer_id" UUID,
    "maturity_date" DATE,
    "attributes_json" JSONB NOT NULL DEFAULT '{}',
    "recorded_at" TIMESTAMPTZ(6) NOT NULL DEFAULT "recording_stamp"(),
    "superseded_at" TIMESTAMPTZ(6),

    CONSTRAINT "instrument_version_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "reference_data_version_entity_id_recorded_at_idx" ON "reference_data_version"("entity_id", "recorded_at");
-- CreateIndex
CREATE INDEX "instrument_version_instrument_id_recorded_at_idx" ON "instrument_version"("instrument_id", "recorded_at");

-- AddForeignKey
ALTER TABLE "reference_data_version" ADD CONSTRAINT "reference_data_version_entity_id_fkey" FOREIGN KEY ("entity_id") REFERENCES "reference_data"("id") ON DELETE CASCADE ON UPDATE CASCADE;
-- AddForeignKey
ALTER TABLE "instrument_version" ADD CONSTRAINT "instrument_version_instrument_id_fkey" FOREIGN KEY ("instrument_id") REFERENCES "instrument"("id") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "reference_data_version" ADD CONSTRAINT "reference_data_version_recorded_check" CHECK ("superseded_at" IS NULL OR "superseded_at" > "recorded_at");
ALTER TABLE "instrument_version" ADD CONSTRAINT "instrument_version_recorded_check" CHECK ("superseded_at" IS NULL OR "superseded_at" > "recorded_at");
ALTER TABLE "reference_data_version" ADD CONSTRAINT "reference_data_version_no_overlap_xexcl" EXCLUDE USING gist (
    "entity_id" WITH =, tstzrange("recorded_at", "superseded_at") WITH &&);
ALTER TABLE "instrument_version" ADD CONSTRAINT "instrument_version_no_overlap_xexcl" EXCLUDE USING gist (
    "instrument_id" WITH =, tstzrange("recorded_at", "superseded_at") WITH &&);

-- Backfill: each entity and instrument as it stands, recorded when it was created.
INSERT INTO "reference_data_version" ("entity_id", "entity_type", "name", "code", "ticker", "cusip", "isin", "lei", "parent_entity_id",
    "sector_id", "geography_id", "ultimate_parent_id", "attributes_json", "recorded_at")
SELECT id, "entity_type", "name", "code", "ticker", "cusip", "isin", "lei", "parent_entity_id", "sector_id", "geography_id",
    "ultimate_parent_id", "attributes_json", "created_at" FROM "reference_data";
INSERT INTO "instrument_version" ("instrument_id", "name", "asset_class", "currency", "isin", "cusip", "ticker", "issuer_id",
    "maturity_date", "attributes_json", "recorded_at")
SELECT id, "name", "asset_class", "currency", "isin", "cusip", "ticker", "issuer_id", "maturity_date", "attributes_json", "created_at"
FROM "instrument";

-- Every write of an entity's or instrument's fields records a version, whoever writes. Several
-- writes in one transaction (an upsert, then the ultimate-parent cascade) make one version.
CREATE FUNCTION "reference_data_versioned"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    stamp TIMESTAMPTZ := "recording_stamp"();
BEGIN
    DELETE FROM "reference_data_version" WHERE "entity_id" = NEW.id AND "superseded_at" IS NULL AND "recorded_at" = stamp;
    UPDATE "reference_data_version" SET "superseded_at" = "superseding_stamp"("recorded_at")
    WHERE "entity_id" = NEW.id AND "superseded_at" IS NULL;
    INSERT INTO "reference_data_version" ("entity_id", "entity_type", "name", "code", "ticker", "cusip", "isin", "lei", "parent_entity_id",
        "sector_id", "geography_id", "ultimate_parent_id", "attributes_json", "recorded_at")
    VALUES (NEW.id, NEW."entity_type", NEW."name", NEW."code", NEW."ticker", NEW."cusip", NEW."isin", NEW."lei", NEW."parent_entity_id",
        NEW."sector_id", NEW."geography_id", NEW."ultimate_parent_id", NEW."attributes_json", stamp);
    RETURN NULL;
END;
$$;
CREATE TRIGGER "reference_data_version_insert" AFTER INSERT ON "reference_data" FOR EACH ROW EXECUTE FUNCTION "reference_data_versioned"();
CREATE TRIGGER "reference_data_version_update" AFTER UPDATE ON "reference_data" FOR EACH ROW
    WHEN ((OLD."entity_type", OLD."name", OLD."code", OLD."ticker", OLD."cusip", OLD."isin", OLD."lei", OLD."parent_entity_id", OLD."sector_id",
           OLD."geography_id", OLD."ultimate_parent_id", OLD."attributes_json")
          IS DISTINCT FROM (NEW."entity_type", NEW."name", NEW."code", NEW."ticker", NEW."cusip", NEW."isin", NEW."lei", NEW."parent_entity_id",
           NEW."sector_id", NEW."geography_id", NEW."ultimate_parent_id", NEW."attributes_json"))
    EXECUTE FUNCTION "reference_data_versioned"();

CREATE FUNCTION "instrument_versioned"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    stamp TIMESTAMPTZ := "recording_stamp"();
BEGIN
    DELETE FROM "instrument_version" WHERE "instrument_id" = NEW.id AND "superseded_at" IS NULL AND "recorded_at" = stamp;
    UPDATE "instrument_version" SET "superseded_at" = "superseding_stamp"("recorded_at")
    WHERE "instrument_id" = NEW.id AND "superseded_at" IS NULL;
    INSERT INTO "instrument_version" ("instrument_id", "name", "asset_class", "currency", "isin", "cusip", "ticker", "issuer_id",
        "maturity_date", "attributes_json", "recorded_at")
    VALUES (NEW.id, NEW."name", NEW."asset_class", NEW."currency", NEW."isin", NEW."cusip", NEW."ticker", NEW."issuer_id",
        NEW."maturity_date", NEW."attributes_json", stamp);
    RETURN NULL;
END;
$$;
CREATE TRIGGER "instrument_version_insert" AFTER INSERT ON "instrument" FOR EACH ROW EXECUTE FUNCTION "instrument_versioned"();
CREATE TRIGGER "instrument_version_update" AFTER UPDATE ON "instrument" FOR EACH ROW
    WHEN ((OLD."name", OLD."asset_class", OLD."currency", OLD."isin", OLD."cusip", OLD."ticker", OLD."issuer_id", OLD."maturity_date", OLD."attributes_json")
          IS DISTINCT FROM (NEW."name", NEW."asset_class", NEW."currency", NEW."isin", NEW."cusip", NEW."ticker", NEW."issuer_id", NEW."maturity_date", NEW."attributes_json"))
    EXECUTE FUNCTION "instrument_versioned"();
