-- Idempotency keys belong to the caller who sent them (created_by, the token's
-- subject): the same key from another caller is another key, and never finds,
-- reveals or blocks someone else's batch.

-- DropIndex
DROP INDEX "ingestion_batch_idempotency_key_key";

-- CreateIndex
CREATE UNIQUE INDEX "ingestion_batch_created_by_idempotency_key_key" ON "ingestion_batch"("created_by", "idempotency_key");

-- A unique index treats NULLs as distinct, so a keyed batch without a sender
-- would escape it: every new keyed batch names its sender. Batches keyed
-- before senders were recorded (created_by NULL) keep their key; NOT VALID
-- leaves them as they are, and the service still answers such a key to a
-- caller who may read its batch (src/services/ingestion/batches.ts).
ALTER TABLE "ingestion_batch" ADD CONSTRAINT "ingestion_batch_keyed_has_sender"
    CHECK ("idempotency_key" IS NULL OR "created_by" IS NOT NULL) NOT VALID;
