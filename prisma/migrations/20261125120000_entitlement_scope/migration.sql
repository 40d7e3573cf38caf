-- Entitlement scope: every portfolio node carries the FUND (root) it belongs
-- to, so that reads are filtered by fund in one indexed comparison instead of
-- a recursive walk per row; batches remember who sent them and which funds
-- they touched.

-- AlterTable
ALTER TABLE "portfolio_node" ADD COLUMN "fund_id" UUID;

-- AlterTable
ALTER TABLE "ingestion_batch" ADD COLUMN "created_by" VARCHAR(200),
ADD COLUMN "fund_ids" UUID[] DEFAULT ARRAY[]::UUID[];

-- CreateIndex
CREATE INDEX "portfolio_node_fund_id_idx" ON "portfolio_node"("fund_id");

-- AddForeignKey
ALTER TABLE "portfolio_node" ADD CONSTRAINT "portfolio_node_fund_id_fkey" FOREIGN KEY ("fund_id") REFERENCES "portfolio_node"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Backfill: each node's fund is the root of its tree (cycle-safe walk down from the roots).
WITH RECURSIVE tree (id, fund_id, path) AS (
    SELECT id, id, ARRAY[id] FROM "portfolio_node" WHERE "parent_id" IS NULL
    UNION ALL
    SELECT c.id, t.fund_id, t.path || c.id FROM "portfolio_node" c JOIN tree t ON c."parent_id" = t.id WHERE c.id <> ALL (t.path)
)
UPDATE "portfolio_node" n SET "fund_id" = tree.fund_id FROM tree WHERE n.id = tree.id;

-- The database keeps fund_id right, whoever writes: a new node takes its
-- parent's fund (a FUND is its own); a move carries the whole subtree along.
-- The fund is found by walking up to the root rather than by trusting the
-- parent's stored fund_id: while a move carries a subtree along, rows are
-- updated in no particular order, and a parent may not be updated yet.
CREATE FUNCTION "portfolio_node_set_fund"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW."parent_id" IS NULL THEN
        NEW."fund_id" := NEW."id";
    ELSE
        WITH RECURSIVE up (id, parent_id, path) AS (
            SELECT p.id, p."parent_id", ARRAY[NEW."id", p.id] FROM "portfolio_node" p WHERE p.id = NEW."parent_id"
            UNION ALL
            SELECT p.id, p."parent_id", u.path || p.id FROM "portfolio_node" p JOIN up u ON p.id = u."parent_id" WHERE p.id <> ALL (u.path)
        )
        SELECT id INTO NEW."fund_id" FROM up WHERE "parent_id" IS NULL;
    END IF;
    RETURN NEW;
END;
$$;

CREATE FUNCTION "portfolio_node_move_subtree_fund"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH RECURSIVE below (id, path) AS (
        SELECT c.id, ARRAY[NEW."id", c.id] FROM "portfolio_node" c WHERE c."parent_id" = NEW."id"
        UNION ALL
        SELECT c.id, b.path || c.id FROM "portfolio_node" c JOIN below b ON c."parent_id" = b.id WHERE c.id <> ALL (b.path)
    )
    UPDATE "portfolio_node" SET "fund_id" = NEW."fund_id"
    WHERE "id" IN (SELECT id FROM below) AND "fund_id" IS DISTINCT FROM NEW."fund_id";
    RETURN NULL;
END;
$$;

CREATE TRIGGER "portfolio_node_set_fund" BEFORE INSERT OR UPDATE OF "parent_id", "fund_id" ON "portfolio_node"
    FOR EACH ROW EXECUTE FUNCTION "portfolio_node_set_fund"();

CREATE TRIGGER "portfolio_node_move_subtree_fund" AFTER UPDATE OF "parent_id" ON "portfolio_node"
    FOR EACH ROW WHEN (OLD."fund_id" IS DISTINCT FROM NEW."fund_id")
    EXECUTE FUNCTION "portfolio_node_move_subtree_fund"();

-- AddCheckConstraint
ALTER TABLE "ingestion_batch" ADD CONSTRAINT "ingestion_batch_fund_ids_check" CHECK ("fund_ids" IS NOT NULL AND array_position("fund_ids", NULL) IS NULL);
