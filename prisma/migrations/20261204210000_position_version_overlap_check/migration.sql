-- A position's versions never overlap as known at any moment: checked at the end of each
-- statement that writes versions, through the btree index (position_id, valid_from), instead of
-- the GiST exclusion constraint. The constraint's GiST entry cost about 27 us per version written
-- (measured: 100,000 versions inserted into 1.4 million, 3.3 s with it, 0.5 s without), which made
-- a 1M-row upload 1.6x slower than before versions existed; the check below costs nothing for the
-- versions of positions created by the same statement (they cannot overlap anything: a new
-- position has no other version) and a few index probes for the others.
--
-- Writers of one position's versions are serialised by the position's row: the check first
-- updates it (stamping last_recorded_at: something was recorded about the position), so a
-- concurrent writer of the same position waits there until this transaction ends and then checks
-- against what it committed (READ COMMITTED takes a new snapshot for the check); under REPEATABLE
-- READ or SERIALIZABLE it gets a serialization failure (40001) instead. position_change() and the
-- direct-update trigger already hold and update that row (pds.position_locked).
-- An overlap is refused with SQLSTATE 23P01 (exclusion_violation), as the constraint did.

ALTER TABLE "position_version" DROP CONSTRAINT "position_version_no_overlap_xexcl";

CREATE FUNCTION "position_versions_checked"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids UUID[];
    bad RECORD;
    summary TEXT;
BEGIN
    IF current_setting('pds.new_position_versions', true) = 'on' THEN RETURN NULL; END IF;
    SELECT array_agg(DISTINCT n."position_id" ORDER BY n."position_id") INTO ids FROM new_rows n;
    IF ids IS NULL THEN RETURN NULL; END IF;
    IF current_setting('pds.position_versions', true) IS DISTINCT FROM 'loader'
       AND current_setting('pds.position_locked', true) IS DISTINCT FROM 'on' THEN
        summary := current_setting('pds.position_summary', true);
        PERFORM set_config('pds.position_summary', 'on', true);
        UPDATE "position" p SET "last_recorded_at" = GREATEST(p."last_recorded_at", "recording_stamp"()) WHERE p.id = ANY (ids);
        PERFORM set_config('pds.position_summary', COALESCE(summary, 'off'), true);
    END IF;
    SELECT n."position_id", n."valid_from", n."valid_to", n."recorded_at", n."superseded_at", o.id AS other INTO bad
    FROM new_rows n
    JOIN "position_version" o ON o."position_id" = n."position_id" AND o.id <> n.id
    WHERE daterange(o."valid_from", o."valid_to") && daterange(n."valid_from", n."valid_to")
      AND tstzrange(o."recorded_at", o."superseded_at") && tstzrange(n."recorded_at", n."superseded_at")
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'a version of position % held over [%, %) as recorded over [%, %) overlaps version %',
            bad."position_id", bad."valid_from", COALESCE(bad."valid_to"::TEXT, 'infinity'), bad."recorded_at", COALESCE(bad."superseded_at"::TEXT, 'infinity'), bad.other
            USING ERRCODE = '23P01', CONSTRAINT = 'position_version_no_overlap';
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER "position_version_no_overlap_insert" AFTER INSERT ON "position_version"
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "position_versions_checked"();
CREATE TRIGGER "position_version_no_overlap_update" AFTER UPDATE ON "position_version"
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "position_versions_checked"();

-- The versions of positions this statement created: no other version of them exists.
CREATE OR REPLACE FUNCTION "position_versions_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('pds.position_versions', true) = 'loader' THEN RETURN NULL; END IF;
    PERFORM set_config('pds.new_position_versions', 'on', true);
    INSERT INTO "position_version" ("position_id", "valid_from", "valid_to", "quantity", "status")
    SELECT id, "opened_on", "closed_on", "quantity", CASE WHEN "status" = 'DELETED' THEN 'DELETED'::"position_status" ELSE 'ACTIVE' END
    FROM new_rows WHERE "closed_on" IS NULL OR "closed_on" > "opened_on"
    UNION ALL
    SELECT id, "closed_on", NULL, "quantity", 'CLOSED'::"position_status" FROM new_rows WHERE "status" = 'CLOSED';
    PERFORM set_config('pds.new_position_versions', 'off', true);
    RETURN NULL;
END;
$$;

-- position_change() holds the position's row from its start and updates it at its end.
CREATE OR REPLACE FUNCTION "position_change"(pid UUID, kind TEXT, qty NUMERIC, eff DATE) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    locked TEXT := current_setting('pds.position_locked', true);
BEGIN
    PERFORM 1 FROM "position" WHERE id = pid FOR NO KEY UPDATE;
    PERFORM set_config('pds.position_locked', 'on', true);
    PERFORM "position_versions_change"(pid, kind, qty, eff);
    PERFORM set_config('pds.position_locked', COALESCE(locked, 'off'), true);
    PERFORM set_config('pds.position_summary', 'on', true);
    UPDATE "position" p SET ("quantity", "status", "opened_on", "closed_on", "state_from", "last_recorded_at") =
        (SELECT s.quantity, s.status, s.opened_on, s.closed_on, s.state_from, "recording_stamp"() FROM "position_summary"(pid) s)
    WHERE p.id = pid;
    PERFORM set_config('pds.position_summary', 'off', true);
END;
$$;

-- The direct-update trigger runs inside the UPDATE of the position's row.
CREATE OR REPLACE FUNCTION "position_before_update"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s RECORD;
    locked TEXT := current_setting('pds.position_locked', true);
BEGIN
    IF current_setting('pds.position_summary', true) = 'on' THEN RETURN NEW; END IF;
    IF NEW."opened_on" IS DISTINCT FROM OLD."opened_on" OR NEW."closed_on" IS DISTINCT FROM OLD."closed_on"
       OR NEW."state_from" IS DISTINCT FROM OLD."state_from" OR NEW."last_recorded_at" IS DISTINCT FROM OLD."last_recorded_at" THEN
        RAISE EXCEPTION 'a position''s dates and recording stamp follow its versions: use position_change(id, kind, quantity, date)' USING ERRCODE = '23514';
    END IF;
    PERFORM set_config('pds.position_locked', 'on', true);
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
    PERFORM set_config('pds.position_locked', COALESCE(locked, 'off'), true);
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
