-- A valuation carries its position's node (valuation_result.portfolio_node_id), so that the valuations
-- in force on a past date are read for one subtree's positions, not for every fund's: exposure,
-- marketValue and holdingsChange as of a past date built a hash of every valuation in force on that
-- date (about a million at a million positions) however small the subtree asking.
--
-- Consistency: the composite foreign key (position_id, portfolio_node_id) -> position (id,
-- portfolio_node_id) replaces the key on position_id alone (one index probe a row, as before), so a
-- valuation's node is always its position's; ON UPDATE CASCADE carries a position's node to its
-- valuations. Writers that know the node pass it; any other INSERT (psql, a script) leaving it out
-- gets it from the position (a row trigger that runs only when the column is null).

ALTER TABLE "valuation_result" ADD COLUMN "portfolio_node_id" UUID;

-- Backfill. A column nobody reads yet: the statement triggers (valid_to, content changes) have
-- nothing to recompute, off for this statement.
ALTER TABLE "valuation_result" DISABLE TRIGGER USER;
UPDATE "valuation_result" v SET "portfolio_node_id" = p."portfolio_node_id" FROM "position" p WHERE p."id" = v."position_id";
ALTER TABLE "valuation_result" ENABLE TRIGGER USER;
ALTER TABLE "valuation_result" ALTER COLUMN "portfolio_node_id" SET NOT NULL;

CREATE FUNCTION "valuation_result_node"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT p."portfolio_node_id" INTO NEW."portfolio_node_id" FROM "position" p WHERE p."id" = NEW."position_id";
    -- No such position: the foreign key's own error, not a null in portfolio_node_id.
    IF NEW."portfolio_node_id" IS NULL THEN
        RAISE EXCEPTION 'insert or update on table "valuation_result" violates foreign key constraint "valuation_result_position_id_portfolio_node_id_fkey"'
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'valuation_result_position_id_portfolio_node_id_fkey', TABLE = 'valuation_result',
                  DETAIL = format('Key (position_id)=(%s) is not present in table "position".', NEW."position_id");
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER "valuation_result_node" BEFORE INSERT ON "valuation_result" FOR EACH ROW
    WHEN (NEW."portfolio_node_id" IS NULL) EXECUTE FUNCTION "valuation_result_node"();

-- CreateIndex
CREATE UNIQUE INDEX "position_id_portfolio_node_id_key" ON "position"("id", "portfolio_node_id");

-- DropForeignKey
ALTER TABLE "valuation_result" DROP CONSTRAINT "valuation_result_position_id_fkey";

-- AddForeignKey
ALTER TABLE "valuation_result" ADD CONSTRAINT "valuation_result_position_id_portfolio_node_id_fkey" FOREIGN KEY ("position_id", "portfolio_node_id") REFERENCES "position"("id", "portfolio_node_id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- The valuations superseded (valid_to) after a date, by node: a subtree's are one range per node.
DROP INDEX "valuation_result_valid_to_xidx";
CREATE INDEX "valuation_result_valid_to_xidx" ON "valuation_result" ("portfolio_node_id", "valid_to") INCLUDE ("position_id", "as_of_date", "market_value", "currency")
    WHERE "valid_to" IS NOT NULL AND "superseded_at" IS NULL;
