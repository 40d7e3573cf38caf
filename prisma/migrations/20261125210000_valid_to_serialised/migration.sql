-- valid_to under concurrent writers of the same position.
--
-- valuation_result_refresh_valid_to recomputes the valid_to chain of the
-- positions a statement touched. Two transactions writing valuations of the
-- same position at the same time each computed the chain from a snapshot that
-- did not hold the other's row: the second to commit could leave two rows
-- "in force" (valid_to NULL) and a wrong valid_to on an older one, so the
-- position counted twice in analytics. Now each refresh first locks the rows of
-- its positions (in id order, so concurrent refreshes cannot deadlock on a
-- single statement): a concurrent writer of the same positions waits until the
-- first transaction ends, and its UPDATE then runs with a snapshot taken after
-- that commit (READ COMMITTED, the service's isolation level: every statement of
-- a volatile function sees what committed before it started).
CREATE OR REPLACE FUNCTION "valuation_result_refresh_valid_to"(positions UUID[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM "position" WHERE id = ANY (positions) ORDER BY id FOR NO KEY UPDATE;
    UPDATE "valuation_result" v SET "valid_to" = n.next_date
    FROM (
        SELECT id, lead("as_of_date") OVER (PARTITION BY "position_id" ORDER BY "as_of_date") AS next_date
        FROM "valuation_result" WHERE "position_id" = ANY (positions)
    ) n
    WHERE v.id = n.id AND v."valid_to" IS DISTINCT FROM n.next_date;
END;
$$;
