-- Counts and pages of a node's positions: the number of positions per node and
-- status is read from this index alone (index-only scans), and a node's page in
-- id order is a short top-N over its own entries.

-- CreateIndex
CREATE INDEX "position_portfolio_node_id_status_id_idx" ON "position"("portfolio_node_id", "status", "id");
