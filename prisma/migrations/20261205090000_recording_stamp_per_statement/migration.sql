-- The first versions of positions inserted by one statement take the transaction's recording stamp
-- once, not through the column default row by row (recording_stamp() is a PL/pgSQL call reading a
-- setting and parsing a timestamp: about 1.5 us a row, a second and a half per million uploaded
-- positions). The same stamp as before: recording_stamp() returns one value per transaction.
CREATE OR REPLACE FUNCTION "position_versions_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    stamp TIMESTAMPTZ;
BEGIN
    IF current_setting('pds.position_versions', true) = 'loader' THEN RETURN NULL; END IF;
    stamp := "recording_stamp"();
    PERFORM set_config('pds.new_position_versions', 'on', true);
    INSERT INTO "position_version" ("position_id", "valid_from", "valid_to", "quantity", "status", "recorded_at")
    SELECT id, "opened_on", "closed_on", "quantity", CASE WHEN "status" = 'DELETED' THEN 'DELETED'::"position_status" ELSE 'ACTIVE' END, stamp
    FROM new_rows WHERE "closed_on" IS NULL OR "closed_on" > "opened_on"
    UNION ALL
    SELECT id, "closed_on", NULL, "quantity", 'CLOSED'::"position_status", stamp FROM new_rows WHERE "status" = 'CLOSED';
    PERFORM set_config('pds.new_position_versions', 'off', true);
    RETURN NULL;
END;
$$;
