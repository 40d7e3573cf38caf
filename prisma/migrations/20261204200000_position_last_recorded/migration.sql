-- position.last_recorded_at: the latest recording stamp of anything recorded about a position -
-- one of its versions or valuations recorded, or superseded. What a position was on any date as
-- known at a moment K >= last_recorded_at is what it is as known now: a question pinned at K takes
-- the present path (the position's summary, its current valuations) for those positions and reads
-- recorded versions only for the positions recorded since K (src/services/analytics/held.ts).
-- Kept in the same transaction as what it stamps, with the same recording stamp, so a settled
-- knownAt (no write in flight at or before it) sees either both or neither.

-- AlterTable
ALTER TABLE "position" ADD COLUMN "last_recorded_at" TIMESTAMPTZ(6);

-- Backfill: from the recorded versions and valuations (GREATEST ignores a NULL superseded_at).
UPDATE "position" p SET "last_recorded_at" = r.at
FROM (
    SELECT x.position_id, max(x.at) AS at FROM (
        SELECT "position_id", GREATEST("recorded_at", "superseded_at") AS at FROM "position_version"
        UNION ALL
        SELECT "position_id", GREATEST("recorded_at", "superseded_at") FROM "valuation_result"
    ) x GROUP BY x.position_id
) r
WHERE p.id = r.position_id;
UPDATE "position" SET "last_recorded_at" = "created_at" WHERE "last_recorded_at" IS NULL;
ALTER TABLE "position" ALTER COLUMN "last_recorded_at" SET DEFAULT "recording_stamp"(),
    ALTER COLUMN "last_recorded_at" SET NOT NULL;

-- A change through position_change() stamps the position with the change's recording stamp.
CREATE OR REPLACE FUNCTION "position_change"(pid UUID, kind TEXT, qty NUMERIC, eff DATE) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM "position" WHERE id = pid FOR NO KEY UPDATE;
    PERFORM "position_versions_change"(pid, kind, qty, eff);
    PERFORM set_config('pds.position_summary', 'on', true);
    UPDATE "position" p SET ("quantity", "status", "opened_on", "closed_on", "state_from", "last_recorded_at") =
        (SELECT s.quantity, s.status, s.opened_on, s.closed_on, s.state_from, "recording_stamp"() FROM "position_summary"(pid) s)
    WHERE p.id = pid;
    PERFORM set_config('pds.position_summary', 'off', true);
END;
$$;

-- So does a direct UPDATE of quantity or status (a change effective today), and nobody sets the
-- stamp by hand outside a change.
CREATE OR REPLACE FUNCTION "position_before_update"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s RECORD;
BEGIN
    IF current_setting('pds.position_summary', true) = 'on' THEN RETURN NEW; END IF;
    IF NEW."opened_on" IS DISTINCT FROM OLD."opened_on" OR NEW."closed_on" IS DISTINCT FROM OLD."closed_on"
       OR NEW."state_from" IS DISTINCT FROM OLD."state_from" OR NEW."last_recorded_at" IS DISTINCT FROM OLD."last_recorded_at" THEN
        RAISE EXCEPTION 'a position''s dates and recording stamp follow its versions: use position_change(id, kind, quantity, date)' USING ERRCODE = '23514';
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
    NEW."last_recorded_at" := "recording_stamp"();
    RETURN NEW;
END;
$$;
DROP TRIGGER "position_summary_update" ON "position";
CREATE TRIGGER "position_summary_update" BEFORE UPDATE ON "position" FOR EACH ROW
    WHEN (NEW."quantity" IS DISTINCT FROM OLD."quantity" OR NEW."status" IS DISTINCT FROM OLD."status"
          OR NEW."opened_on" IS DISTINCT FROM OLD."opened_on" OR NEW."closed_on" IS DISTINCT FROM OLD."closed_on"
          OR NEW."state_from" IS DISTINCT FROM OLD."state_from" OR NEW."last_recorded_at" IS DISTINCT FROM OLD."last_recorded_at")
    EXECUTE FUNCTION "position_before_update"();

-- A valuation written (recorded, corrected or removed) stamps its position too, in the statement
-- that keeps valid_to and the position's latest valuation. A bulk loader that writes recorded
-- history (pds.position_versions = 'loader') sets the stamps itself.
CREATE OR REPLACE FUNCTION "valuation_result_refresh_valid_to"(positions UUID[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    stamped BOOLEAN := current_setting('pds.position_versions', true) IS DISTINCT FROM 'loader';
    stamp TIMESTAMPTZ;
    summary TEXT := current_setting('pds.position_summary', true);
BEGIN
    IF stamped THEN stamp := "recording_stamp"(); END IF;
    PERFORM 1 FROM "position" WHERE id = ANY (positions) ORDER BY id FOR NO KEY UPDATE;
    UPDATE "valuation_result" v SET "valid_to" = n.next_date
    FROM (
        SELECT id, CASE WHEN "superseded_at" IS NULL
                   THEN lead("as_of_date") OVER (PARTITION BY "position_id", "superseded_at" IS NULL ORDER BY "as_of_date") END AS next_date
        FROM "valuation_result" WHERE "position_id" = ANY (positions)
    ) n
    WHERE v.id = n.id AND v."valid_to" IS DISTINCT FROM n.next_date;
    PERFORM set_config('pds.position_summary', 'on', true);
    UPDATE "position" p SET "latest_as_of" = l."as_of_date", "latest_market_value" = l."market_value", "latest_currency" = l."currency",
        "last_recorded_at" = COALESCE(stamp, p."last_recorded_at")
    FROM (
        SELECT k.id, v."as_of_date", v."market_value", v."currency"
        FROM unnest(positions) AS k(id)
        LEFT JOIN LATERAL (
            SELECT "as_of_date", "market_value", "currency" FROM "valuation_result"
            WHERE "position_id" = k.id AND "superseded_at" IS NULL ORDER BY "as_of_date" DESC LIMIT 1
        ) v ON true
    ) l
    WHERE p.id = l.id
      AND ((stamped AND p."last_recorded_at" IS DISTINCT FROM stamp)
           OR (p."latest_as_of", p."latest_market_value", p."latest_currency") IS DISTINCT FROM (l."as_of_date", l."market_value", l."currency"));
    PERFORM set_config('pds.position_summary', COALESCE(summary, 'off'), true);
END;
$$;
