-- Live updates (issue 13): every committed write announces itself on the channel pds_live
-- (NOTIFY), whoever wrote it (an instance of the service, `npm run ingest`, psql), so that each
-- instance's listener (src/live/listener.ts) can tell its subscribers.
--
-- One notification per write statement and fund, never one per row: statement-level AFTER
-- triggers read the statement's transition tables (an upload of a million rows writes chunks of
-- 5,000: one notification per chunk, table and fund). PostgreSQL delivers notifications after
-- the commit, in commit order, to every listening session, never for a rolled-back transaction,
-- and delivers identical payloads of one transaction once (so chunks naming the same nodes, or
-- several reference writes of one transaction, make one notification). Writes made by other
-- triggers (pg_trigger_depth() > 1: a position's latest valuation, a subtree's fund_id after a
-- move, valid_to) are announced by the statement that caused them, as for content_change.
--
-- Payload: JSON text, short keys, at most ~4,100 bytes (NOTIFY refuses 8,000):
--   k       the PortfolioChangeKind: POSITIONS, VALUATIONS, STRUCTURE, SNAPSHOTS, REFERENCE_DATA
--           or MARKET_DATA; absent for a batch's progress (b)
--   f       the funds (root node ids, portfolio_node.fund_id) the write touched: exactly one for
--           a write to a fund's rows; [] for a firm-wide change, which concerns every fund
--   n       the nodes written, sorted: positions', valuations' and snapshots' nodes; a node
--           inserted, updated or deleted together with its parent (before and after: a move
--           names the old parent in the old fund's notification, the new one in the new fund's);
--           null when more than 100 (then any node of f may have changed) and for firm-wide
--           changes (any node of any fund)
--   fd, ft  a stored market data feed: its id and feed_type (one notification per feed; a
--           statement storing more than 100 feeds sends one MARKET_DATA without them)
--   b       an ingestion batch created, or whose status, counts or funds changed (one
--           notification per batch); f is then its fund_ids as stored (empty until it finishes)
-- e.g. {"k" : "POSITIONS", "f" : ["<fund>"], "n" : ["<book>","<strategy>"]}
--      {"k" : "REFERENCE_DATA", "f" : [], "n" : null}
--      {"k" : "MARKET_DATA", "f" : [], "n" : null, "fd" : "<feed>", "ft" : "FX_SPOT"}
--      {"b" : "<batch>", "f" : ["<fund>"]}
-- (json_build_object's spacing; a reader parses it as JSON). The commit time is not in the
-- payload: the triggers run before it, and a payload without it repeats exactly, so that
-- PostgreSQL sends repeats once.
--
-- Tables: position (POSITIONS), valuation_result (VALUATIONS), portfolio_snapshot (SNAPSHOTS),
-- portfolio_node (STRUCTURE), reference_data, instrument and rating_history (REFERENCE_DATA),
-- market_data_feed and, written by hand, fx_spot (MARKET_DATA), ingestion_batch (b). TRUNCATE of
-- any of them is announced firm-wide.
--
-- Cost: the transition tables are the ones the content_change triggers already keep (PostgreSQL
-- captures them once per statement and table for all triggers); per statement, one DISTINCT over
-- the statement's node ids, a primary-key look-up per distinct node, one pg_notify per fund.

-- Notifies `kind` once per fund of the (fund, node) pairs given as parallel arrays (repeats and
-- null nodes allowed; null funds ignored).
CREATE FUNCTION "live_notify"(kind TEXT, fund_ids UUID[], node_ids UUID[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pds_live', json_build_object('k', kind, 'f', json_build_array(g.fund_id),
                'n', CASE WHEN cardinality(g.nodes) <= 100 THEN to_json(g.nodes) END)::text)
    FROM (SELECT u.fund_id, COALESCE(array_agg(DISTINCT u.node_id) FILTER (WHERE u.node_id IS NOT NULL), '{}') AS nodes
          FROM unnest(fund_ids, node_ids) AS u(fund_id, node_id)
          WHERE u.fund_id IS NOT NULL
          GROUP BY u.fund_id) g;
END;
$$;

-- Notifies `kind` once per fund of the nodes given (distinct node ids).
CREATE FUNCTION "live_notify_nodes"(kind TEXT, node_ids UUID[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    funds UUID[];
    nodes UUID[];
BEGIN
    SELECT array_agg(n."fund_id"), array_agg(n.id) INTO funds, nodes FROM "portfolio_node" n WHERE n.id = ANY (node_ids);
    PERFORM "live_notify"(kind, funds, nodes);
END;
$$;

-- A firm-wide change of the kind named by the trigger's argument (reference data, a feed written
-- by hand, a TRUNCATE).
CREATE FUNCTION "live_firm_wide_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
    PERFORM pg_notify('pds_live', json_build_object('k', TG_ARGV[0], 'f', json_build_array(), 'n', NULL)::text);
    RETURN NULL;
END;
$$;

-- Rows that carry their node (position, valuation_result, portfolio_snapshot); the kind is the
-- trigger's argument. Each statement is planned when its branch first runs, so a branch names
-- the transition tables of its own event only.
CREATE FUNCTION "live_node_rows_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM "live_notify_nodes"(TG_ARGV[0], ARRAY(SELECT DISTINCT "portfolio_node_id" FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM "live_notify_nodes"(TG_ARGV[0], ARRAY(SELECT DISTINCT "portfolio_node_id" FROM old_rows));
    ELSE
        PERFORM "live_notify_nodes"(TG_ARGV[0], ARRAY(SELECT "portfolio_node_id" FROM new_rows UNION SELECT "portfolio_node_id" FROM old_rows));
    END IF;
    RETURN NULL;
END;
$$;

-- Nodes: each with its parent, in the fund it belonged to before (old rows) and after (new rows).
-- A deleted node is gone from portfolio_node: its fund comes from the old row itself.
CREATE FUNCTION "live_portfolio_node_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    funds UUID[];
    nodes UUID[];
BEGIN
    IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(p.fund_id), array_agg(p.node_id) INTO funds, nodes
        FROM (SELECT "fund_id", id FROM new_rows UNION SELECT "fund_id", "parent_id" FROM new_rows) p(fund_id, node_id);
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(p.fund_id), array_agg(p.node_id) INTO funds, nodes
        FROM (SELECT "fund_id", id FROM old_rows UNION SELECT "fund_id", "parent_id" FROM old_rows) p(fund_id, node_id);
    ELSE
        SELECT array_agg(p.fund_id), array_agg(p.node_id) INTO funds, nodes
        FROM (SELECT "fund_id", id FROM new_rows UNION SELECT "fund_id", "parent_id" FROM new_rows
              UNION SELECT "fund_id", id FROM old_rows UNION SELECT "fund_id", "parent_id" FROM old_rows) p(fund_id, node_id);
    END IF;
    PERFORM "live_notify"('STRUCTURE', funds, nodes);
    RETURN NULL;
END;
$$;

-- Stored feeds: one notification each, with its id and type; a bulk load (more than 100 in one
-- statement) sends one firm-wide MARKET_DATA instead.
CREATE FUNCTION "live_market_data_feed_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
    IF (SELECT count(*) FROM new_rows) > 100 THEN
        PERFORM pg_notify('pds_live', json_build_object('k', 'MARKET_DATA', 'f', json_build_array(), 'n', NULL)::text);
    ELSE
        PERFORM pg_notify('pds_live', json_build_object('k', 'MARKET_DATA', 'f', json_build_array(), 'n', NULL, 'fd', id, 'ft', "feed_type")::text)
        FROM new_rows;
    END IF;
    RETURN NULL;
END;
$$;

-- Batches: one notification per batch created, or whose status, counts or funds changed (an
-- update of updated_at alone says nothing). A batch naming more than 100 funds names none ([]:
-- any fund).
CREATE FUNCTION "live_ingestion_batch_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('pds_live', json_build_object('b', id,
                    'f', CASE WHEN cardinality("fund_ids") <= 100 THEN to_json("fund_ids") ELSE json_build_array() END)::text)
        FROM new_rows;
    ELSE
        PERFORM pg_notify('pds_live', json_build_object('b', n.id,
                    'f', CASE WHEN cardinality(n."fund_ids") <= 100 THEN to_json(n."fund_ids") ELSE json_build_array() END)::text)
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (n."status", n."row_count", n."accepted_count", n."rejected_count", n."fund_ids")
              IS DISTINCT FROM (o."status", o."row_count", o."accepted_count", o."rejected_count", o."fund_ids");
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER "position_live_insert" AFTER INSERT ON "position" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "live_node_rows_changed"('POSITIONS');
CREATE TRIGGER "position_live_update" AFTER UPDATE ON "position" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "live_node_rows_changed"('POSITIONS');
CREATE TRIGGER "position_live_delete" AFTER DELETE ON "position" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "live_node_rows_changed"('POSITIONS');
CREATE TRIGGER "position_live_truncate" AFTER TRUNCATE ON "position" FOR EACH STATEMENT EXECUTE FUNCTION "live_firm_wide_changed"('POSITIONS');

CREATE TRIGGER "valuation_result_live_insert" AFTER INSERT ON "valuation_result" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "live_node_rows_changed"('VALUATIONS');
CREATE TRIGGER "valuation_result_live_update" AFTER UPDATE ON "valuation_result" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "live_node_rows_changed"('VALUATIONS');
CREATE TRIGGER "valuation_result_live_delete" AFTER DELETE ON "valuation_result" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "live_node_rows_changed"('VALUATIONS');
CREATE TRIGGER "valuation_result_live_truncate" AFTER TRUNCATE ON "valuation_result" FOR EACH STATEMENT EXECUTE FUNCTION "live_firm_wide_changed"('VALUATIONS');

CREATE TRIGGER "portfolio_snapshot_live_insert" AFTER INSERT ON "portfolio_snapshot" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "live_node_rows_changed"('SNAPSHOTS');
CREATE TRIGGER "portfolio_snapshot_live_update" AFTER UPDATE ON "portfolio_snapshot" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "live_node_rows_changed"('SNAPSHOTS');
CREATE TRIGGER "portfolio_snapshot_live_delete" AFTER DELETE ON "portfolio_snapshot" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "live_node_rows_changed"('SNAPSHOTS');
CREATE TRIGGER "portfolio_snapshot_live_truncate" AFTER TRUNCATE ON "portfolio_snapshot" FOR EACH STATEMENT EXECUTE FUNCTION "live_firm_wide_changed"('SNAPSHOTS');

CREATE TRIGGER "portfolio_node_live_insert" AFTER INSERT ON "portfolio_node" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "live_portfolio_node_changed"();
CREATE TRIGGER "portfolio_node_live_update" AFTER UPDATE ON "portfolio_node" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "live_portfolio_node_changed"();
CREATE TRIGGER "portfolio_node_live_delete" AFTER DELETE ON "portfolio_node" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "live_portfolio_node_changed"();
CREATE TRIGGER "portfolio_node_live_truncate" AFTER TRUNCATE ON "portfolio_node" FOR EACH STATEMENT EXECUTE FUNCTION "live_firm_wide_changed"('STRUCTURE');

CREATE TRIGGER "reference_data_live" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "reference_data" FOR EACH STATEMENT EXECUTE FUNCTION "live_firm_wide_changed"('REFERENCE_DATA');
CREATE TRIGGER "instrument_live" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "instrument" FOR EACH STATEMENT EXECUTE FUNCTION "live_firm_wide_changed"('REFERENCE_DATA');
CREATE TRIGGER "rating_history_live" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "rating_history" FOR EACH STATEMENT EXECUTE FUNCTION "live_firm_wide_changed"('REFERENCE_DATA');

CREATE TRIGGER "market_data_feed_live_insert" AFTER INSERT ON "market_data_feed" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "live_market_data_feed_inserted"();
-- A stored feed and its rates are written once; a write by hand changes what they say.
CREATE TRIGGER "market_data_feed_live_change" AFTER UPDATE OR DELETE OR TRUNCATE ON "market_data_feed" FOR EACH STATEMENT EXECUTE FUNCTION "live_firm_wide_changed"('MARKET_DATA');
CREATE TRIGGER "fx_spot_live_change" AFTER UPDATE OR DELETE OR TRUNCATE ON "fx_spot" FOR EACH STATEMENT EXECUTE FUNCTION "live_firm_wide_changed"('MARKET_DATA');

CREATE TRIGGER "ingestion_batch_live_insert" AFTER INSERT ON "ingestion_batch" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "live_ingestion_batch_changed"();
CREATE TRIGGER "ingestion_batch_live_update" AFTER UPDATE ON "ingestion_batch" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "live_ingestion_batch_changed"();
