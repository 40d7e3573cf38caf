-- CreateEnum
CREATE TYPE "node_type" AS ENUM ('FUND', 'DESK', 'BOOK', 'STRATEGY');

-- CreateEnum
CREATE TYPE "position_status" AS ENUM ('ACTIVE', 'CLOSED', 'DELETED');

-- CreateEnum
CREATE TYPE "asset_class" AS ENUM ('BOND', 'LOAN', 'EQUITY', 'CDS', 'CASH', 'OTHER');

-- CreateEnum
CREATE TYPE "reference_entity_type" AS ENUM ('ISSUER', 'SECTOR', 'GEOGRAPHY', 'CURRENCY');

-- CreateEnum
CREATE TYPE "rating_agency" AS ENUM ('SP', 'MOODYS', 'FITCH', 'DBRS');

-- CreateEnum
CREATE TYPE "feed_type" AS ENUM ('YIELD_CURVE', 'CREDIT_SPREAD', 'FX_SPOT', 'RATING');

-- CreateEnum
CREATE TYPE "validation_status" AS ENUM ('PENDING', 'PASS', 'WARN', 'FAIL');

-- CreateEnum
CREATE TYPE "batch_type" AS ENUM ('LOAN_SERVICING', 'MARKET_DATA', 'POSITION_UPLOAD');

-- CreateEnum
CREATE TYPE "batch_status" AS ENUM ('STARTED', 'VALIDATING', 'COMPLETED', 'FAILED');

-- CreateTable
CREATE TABLE "portfolio_node" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" VARCHAR(200) NOT NULL,
    "node_type" "node_type" NOT NULL,
    "parent_id" UUID,
    "base_ccy" CHAR(3) NOT NULL,
    "tags_json" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "portfolio_node_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "position" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "portfolio_node_id" UUID NOT NULL,
    "instrument_id" UUID NOT NULL,
    "quantity" DECIMAL(28,10) NOT NULL,
    "base_ccy" CHAR(3) NOT NULL,
    "status" "position_status" NOT NULL DEFAULT 'ACTIVE',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "position_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "portfolio_snapshot" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "portfolio_node_id" UUID NOT NULL,
    "as_of_date" DATE NOT NULL,
    "payload_json" JSONB NOT NULL,
    "payload_hash" CHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "portfolio_snapshot_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "instrument" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" VARCHAR(200) NOT NULL,
    "asset_class" "asset_class" NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "isin" CHAR(12),
    "cusip" CHAR(9),
    "ticker" VARCHAR(32),
    "issuer_id" UUID,
    "maturity_date" DATE,
    "attributes_json" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "instrument_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "valuation_result" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "position_id" UUID NOT NULL,
    "as_of_date" DATE NOT NULL,
    "market_value" DECIMAL(28,8) NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "valuation_result_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "reference_data" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
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
    "attributes_json" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "reference_data_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "rating_history" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "entity_id" UUID NOT NULL,
    "agency" "rating_agency" NOT NULL,
    "rating" VARCHAR(16) NOT NULL,
    "as_of_date" DATE NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rating_history_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "fx_spot" (
    "pair" CHAR(6) NOT NULL,
    "snapshot_id" UUID NOT NULL,
    "rate" DECIMAL(28,12) NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "fx_spot_pkey" PRIMARY KEY ("pair","snapshot_id")
);

-- CreateTable
CREATE TABLE "market_data_feed" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "feed_type" "feed_type" NOT NULL,
    "as_of_date" DATE NOT NULL,
    "source" VARCHAR(200) NOT NULL,
    "payload_json" JSONB NOT NULL,
    "payload_hash" CHAR(64) NOT NULL,
    "validation_status" "validation_status" NOT NULL DEFAULT 'PENDING',
    "validation_json" JSONB NOT NULL DEFAULT '[]',
    "ingestion_batch_id" UUID,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "market_data_feed_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "data_lineage" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "feed_id" UUID,
    "ingestion_batch_id" UUID,
    "source_system" VARCHAR(200) NOT NULL,
    "transformation_chain" TEXT[],
    "quality_checks" JSONB NOT NULL DEFAULT '[]',
    "metadata_json" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "data_lineage_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ingestion_batch" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "batch_type" "batch_type" NOT NULL,
    "status" "batch_status" NOT NULL DEFAULT 'STARTED',
    "source_system" VARCHAR(200) NOT NULL,
    "idempotency_key" VARCHAR(200),
    "row_count" INTEGER NOT NULL DEFAULT 0,
    "accepted_count" INTEGER NOT NULL DEFAULT 0,
    "rejected_count" INTEGER NOT NULL DEFAULT 0,
    "validation_errors_json" JSONB NOT NULL DEFAULT '[]',
    "started_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ingestion_batch_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "portfolio_node_parent_id_idx" ON "portfolio_node"("parent_id");

-- CreateIndex
CREATE INDEX "position_portfolio_node_id_instrument_id_idx" ON "position"("portfolio_node_id", "instrument_id");

-- CreateIndex
CREATE INDEX "position_instrument_id_idx" ON "position"("instrument_id");

-- CreateIndex
CREATE INDEX "portfolio_snapshot_portfolio_node_id_as_of_date_idx" ON "portfolio_snapshot"("portfolio_node_id", "as_of_date" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "portfolio_snapshot_portfolio_node_id_payload_hash_key" ON "portfolio_snapshot"("portfolio_node_id", "payload_hash");

-- CreateIndex
CREATE UNIQUE INDEX "instrument_isin_key" ON "instrument"("isin");

-- CreateIndex
CREATE UNIQUE INDEX "instrument_cusip_key" ON "instrument"("cusip");

-- CreateIndex
CREATE UNIQUE INDEX "instrument_ticker_key" ON "instrument"("ticker");

-- CreateIndex
CREATE INDEX "instrument_issuer_id_idx" ON "instrument"("issuer_id");

-- CreateIndex
CREATE INDEX "valuation_result_position_id_as_of_date_idx" ON "valuation_result"("position_id", "as_of_date" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "valuation_result_position_id_as_of_date_key" ON "valuation_result"("position_id", "as_of_date");

-- CreateIndex
CREATE UNIQUE INDEX "reference_data_lei_key" ON "reference_data"("lei");

-- CreateIndex
CREATE INDEX "reference_data_entity_type_name_idx" ON "reference_data"("entity_type", "name");

-- CreateIndex
CREATE INDEX "reference_data_ticker_idx" ON "reference_data"("ticker");

-- CreateIndex
CREATE INDEX "reference_data_cusip_idx" ON "reference_data"("cusip");

-- CreateIndex
CREATE INDEX "reference_data_isin_idx" ON "reference_data"("isin");

-- CreateIndex
CREATE INDEX "reference_data_parent_entity_id_idx" ON "reference_data"("parent_entity_id");

-- CreateIndex
CREATE UNIQUE INDEX "reference_data_entity_type_code_key" ON "reference_data"("entity_type", "code");

-- CreateIndex
CREATE INDEX "rating_history_entity_id_as_of_date_idx" ON "rating_history"("entity_id", "as_of_date" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "rating_history_entity_id_agency_as_of_date_key" ON "rating_history"("entity_id", "agency", "as_of_date");

-- CreateIndex
CREATE INDEX "fx_spot_snapshot_id_idx" ON "fx_spot"("snapshot_id");

-- CreateIndex
CREATE INDEX "market_data_feed_feed_type_as_of_date_idx" ON "market_data_feed"("feed_type", "as_of_date" DESC);

-- CreateIndex
CREATE INDEX "market_data_feed_ingestion_batch_id_idx" ON "market_data_feed"("ingestion_batch_id");

-- CreateIndex
CREATE UNIQUE INDEX "market_data_feed_feed_type_as_of_date_source_payload_hash_key" ON "market_data_feed"("feed_type", "as_of_date", "source", "payload_hash");

-- CreateIndex
CREATE INDEX "data_lineage_feed_id_idx" ON "data_lineage"("feed_id");

-- CreateIndex
CREATE INDEX "data_lineage_ingestion_batch_id_idx" ON "data_lineage"("ingestion_batch_id");

-- CreateIndex
CREATE UNIQUE INDEX "ingestion_batch_idempotency_key_key" ON "ingestion_batch"("idempotency_key");

-- CreateIndex
CREATE INDEX "ingestion_batch_batch_type_started_at_idx" ON "ingestion_batch"("batch_type", "started_at" DESC);

-- AddForeignKey
ALTER TABLE "portfolio_node" ADD CONSTRAINT "portfolio_node_parent_id_fkey" FOREIGN KEY ("parent_id") REFERENCES "portfolio_node"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "position" ADD CONSTRAINT "position_portfolio_node_id_fkey" FOREIGN KEY ("portfolio_node_id") REFERENCES "portfolio_node"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "position" ADD CONSTRAINT "position_instrument_id_fkey" FOREIGN KEY ("instrument_id") REFERENCES "instrument"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "portfolio_snapshot" ADD CONSTRAINT "portfolio_snapshot_portfolio_node_id_fkey" FOREIGN KEY ("portfolio_node_id") REFERENCES "portfolio_node"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "instrument" ADD CONSTRAINT "instrument_issuer_id_fkey" FOREIGN KEY ("issuer_id") REFERENCES "reference_data"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "valuation_result" ADD CONSTRAINT "valuation_result_position_id_fkey" FOREIGN KEY ("position_id") REFERENCES "position"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "reference_data" ADD CONSTRAINT "reference_data_parent_entity_id_fkey" FOREIGN KEY ("parent_entity_id") REFERENCES "reference_data"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "reference_data" ADD CONSTRAINT "reference_data_sector_id_fkey" FOREIGN KEY ("sector_id") REFERENCES "reference_data"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "reference_data" ADD CONSTRAINT "reference_data_geography_id_fkey" FOREIGN KEY ("geography_id") REFERENCES "reference_data"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "rating_history" ADD CONSTRAINT "rating_history_entity_id_fkey" FOREIGN KEY ("entity_id") REFERENCES "reference_data"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "fx_spot" ADD CONSTRAINT "fx_spot_snapshot_id_fkey" FOREIGN KEY ("snapshot_id") REFERENCES "market_data_feed"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "market_data_feed" ADD CONSTRAINT "market_data_feed_ingestion_batch_id_fkey" FOREIGN KEY ("ingestion_batch_id") REFERENCES "ingestion_batch"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "data_lineage" ADD CONSTRAINT "data_lineage_feed_id_fkey" FOREIGN KEY ("feed_id") REFERENCES "market_data_feed"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "data_lineage" ADD CONSTRAINT "data_lineage_ingestion_batch_id_fkey" FOREIGN KEY ("ingestion_batch_id") REFERENCES "ingestion_batch"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- ---------------------------------------------------------------------------
-- Database rules the Prisma schema cannot express (data-model.md, "Rules the
-- database itself enforces"). Each is named <table>_<rule>_check so that an
-- error names the rule it broke. Codes are stored normalised (trimmed, upper
-- case); the application normalises before it writes.
-- ---------------------------------------------------------------------------

-- AddCheckConstraint: hierarchy shape
ALTER TABLE "portfolio_node" ADD CONSTRAINT "portfolio_node_not_own_parent_check" CHECK ("parent_id" IS NULL OR "parent_id" <> "id");
ALTER TABLE "portfolio_node" ADD CONSTRAINT "portfolio_node_root_is_fund_check" CHECK (("node_type" = 'FUND') = ("parent_id" IS NULL));
ALTER TABLE "portfolio_node" ADD CONSTRAINT "portfolio_node_name_check" CHECK (length(btrim("name")) > 0);
ALTER TABLE "portfolio_node" ADD CONSTRAINT "portfolio_node_base_ccy_check" CHECK ("base_ccy" ~ '^[A-Z]{3}$');
ALTER TABLE "portfolio_node" ADD CONSTRAINT "portfolio_node_tags_json_check" CHECK (jsonb_typeof("tags_json") = 'object');

-- AddCheckConstraint: positions and valuations (no NaN; numeric admits it)
ALTER TABLE "position" ADD CONSTRAINT "position_quantity_check" CHECK ("quantity" <> 'NaN'::numeric);
ALTER TABLE "position" ADD CONSTRAINT "position_base_ccy_check" CHECK ("base_ccy" ~ '^[A-Z]{3}$');
ALTER TABLE "valuation_result" ADD CONSTRAINT "valuation_result_market_value_check" CHECK ("market_value" <> 'NaN'::numeric);
ALTER TABLE "valuation_result" ADD CONSTRAINT "valuation_result_currency_check" CHECK ("currency" ~ '^[A-Z]{3}$');

-- AddCheckConstraint: instruments (identifier formats; check digits are verified by the service)
ALTER TABLE "instrument" ADD CONSTRAINT "instrument_name_check" CHECK (length(btrim("name")) > 0);
ALTER TABLE "instrument" ADD CONSTRAINT "instrument_currency_check" CHECK ("currency" ~ '^[A-Z]{3}$');
ALTER TABLE "instrument" ADD CONSTRAINT "instrument_isin_check" CHECK ("isin" ~ '^[A-Z]{2}[A-Z0-9]{9}[0-9]$');
ALTER TABLE "instrument" ADD CONSTRAINT "instrument_cusip_check" CHECK ("cusip" ~ '^[A-Z0-9*@#]{8}[0-9]$');
ALTER TABLE "instrument" ADD CONSTRAINT "instrument_ticker_check" CHECK ("ticker" ~ '^[A-Z0-9][A-Z0-9 ./:-]{0,31}$');
ALTER TABLE "instrument" ADD CONSTRAINT "instrument_attributes_json_check" CHECK (jsonb_typeof("attributes_json") = 'object');

-- AddCheckConstraint: reference data (ISO 4217 currencies; ISO 3166 alpha-2 countries or UN M49 numeric regions)
ALTER TABLE "reference_data" ADD CONSTRAINT "reference_data_not_own_parent_check" CHECK ("parent_entity_id" IS NULL OR "parent_entity_id" <> "id");
ALTER TABLE "reference_data" ADD CONSTRAINT "reference_data_name_check" CHECK (length(btrim("name")) > 0);
ALTER TABLE "reference_data" ADD CONSTRAINT "reference_data_code_check" CHECK (
    "code" IS NULL
    OR ("entity_type" = 'CURRENCY' AND "code" ~ '^[A-Z]{3}$')
    OR ("entity_type" = 'GEOGRAPHY' AND "code" ~ '^([A-Z]{2}|[0-9]{3})$')
    OR ("entity_type" IN ('SECTOR', 'ISSUER') AND "code" ~ '^[A-Z0-9][A-Z0-9._-]{0,15}$')
);
ALTER TABLE "reference_data" ADD CONSTRAINT "reference_data_isin_check" CHECK ("isin" ~ '^[A-Z]{2}[A-Z0-9]{9}[0-9]$');
ALTER TABLE "reference_data" ADD CONSTRAINT "reference_data_cusip_check" CHECK ("cusip" ~ '^[A-Z0-9*@#]{8}[0-9]$');
ALTER TABLE "reference_data" ADD CONSTRAINT "reference_data_lei_check" CHECK ("lei" ~ '^[A-Z0-9]{18}[0-9]{2}$');
ALTER TABLE "reference_data" ADD CONSTRAINT "reference_data_attributes_json_check" CHECK (jsonb_typeof("attributes_json") = 'object');

-- AddCheckConstraint: ratings
ALTER TABLE "rating_history" ADD CONSTRAINT "rating_history_rating_check" CHECK ("rating" ~ '^[A-Za-z][A-Za-z0-9+() -]{0,15}$');

-- AddCheckConstraint: FX (positive rates, six-letter pairs of two different currencies)
ALTER TABLE "fx_spot" ADD CONSTRAINT "fx_spot_pair_check" CHECK ("pair" ~ '^[A-Z]{6}$' AND substr("pair", 1, 3) <> substr("pair", 4, 3));
ALTER TABLE "fx_spot" ADD CONSTRAINT "fx_spot_rate_check" CHECK ("rate" > 0 AND "rate" <> 'NaN'::numeric);

-- AddCheckConstraint: content hashes are SHA-256 in lower-case hex
ALTER TABLE "portfolio_snapshot" ADD CONSTRAINT "portfolio_snapshot_payload_hash_check" CHECK ("payload_hash" ~ '^[0-9a-f]{64}$');
ALTER TABLE "market_data_feed" ADD CONSTRAINT "market_data_feed_payload_hash_check" CHECK ("payload_hash" ~ '^[0-9a-f]{64}$');
ALTER TABLE "market_data_feed" ADD CONSTRAINT "market_data_feed_source_check" CHECK (length(btrim("source")) > 0);

-- AddCheckConstraint: lineage belongs to a feed or a batch
ALTER TABLE "data_lineage" ADD CONSTRAINT "data_lineage_owner_check" CHECK ("feed_id" IS NOT NULL OR "ingestion_batch_id" IS NOT NULL);
ALTER TABLE "data_lineage" ADD CONSTRAINT "data_lineage_transformation_chain_check" CHECK ("transformation_chain" IS NOT NULL AND array_position("transformation_chain", NULL) IS NULL);

-- AddCheckConstraint: batch counters
ALTER TABLE "ingestion_batch" ADD CONSTRAINT "ingestion_batch_counts_check" CHECK ("row_count" >= 0 AND "accepted_count" >= 0 AND "rejected_count" >= 0 AND "accepted_count" + "rejected_count" <= "row_count");
ALTER TABLE "ingestion_batch" ADD CONSTRAINT "ingestion_batch_completed_check" CHECK ("completed_at" IS NULL OR "completed_at" >= "started_at");
