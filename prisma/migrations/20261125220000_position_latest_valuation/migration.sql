-- Each position's latest valuation, kept on the position.
--
-- The exposure and market value of a subtree as of a date need, per ACTIVE
-- position, the valuation in force on that date. For the usual question (as of
-- a date on or after the latest valuation) that is the position's latest
-- valuation: with it on the position, the statement reads the subtree's
-- positions alone, instead of joining them with every valuation in force (a
-- million-row join at a million positions). For dates in the past, the
-- positions valued again since then still take theirs from valuation_result
-- (valid_to > date). Kept by the same trigger function as valid_to, under the
-- same per-position locks.

-- AlterTable
ALTER TABLE "position" ADD COLUMN "latest_as_of" DATE,
ADD COLUMN "latest_market_value" DECIMAL(28,8),
ADD COLUMN "latest_currency" CHAR(3);

-- Backfill
UPDATE "position" p SET "latest_as_of" = v."as_of_date", "latest_market_value" = v."market_value", "latest_currency" = v."currency"
FROM "valuation_result" v WHERE v."position_id" = p.id AND v."valid_to" IS NULL;

-- AddCheckConstraint: all three or none.
ALTER TABLE "position" ADD CONSTRAINT "position_latest_valuation_check"
    CHECK (("latest_as_of" IS NULL) = ("latest_market_value" IS NULL) AND ("latest_as_of" IS NULL) = ("latest_currency" IS NULL));

CREATE OR REPLACE FUNCTION "valuation_result_refresh_valid_to"(positions UUID[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM "position" WHERE id = ANY (positions) ORDER BY id FOR NO KEY UPDATE;
    UPDATE "valuation_result" v SET "valid_to" = n.next_date
    FROM (
        SELECT id, lead("as_of_date") OVER (PARTITION BY "position_id" ORDER BY "as_of_date") AS next_date
        FROM "valuation_result" WHERE "position_id" = ANY (positions)
    ) n
    WHERE v.id = n.id AND v."valid_to" IS DISTINCT FROM n.next_date;
    UPDATE "position" p SET "latest_as_of" = l."as_of_date", "latest_market_value" = l."market_value", "latest_currency" = l."currency"
    FROM (
        SELECT k.id, v."as_of_date", v."market_value", v."currency"
        FROM unnest(positions) AS k(id)
        LEFT JOIN LATERAL (
            SELECT "as_of_date", "market_value", "currency" FROM "valuation_result"
            WHERE "position_id" = k.id ORDER BY "as_of_date" DESC LIMIT 1
        ) v ON true
    ) l
    WHERE p.id = l.id
      AND (p."latest_as_of", p."latest_market_value", p."latest_currency") IS DISTINCT FROM (l."as_of_date", l."market_value", l."currency");
END;
$$;
