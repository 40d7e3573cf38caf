// Lookups read what their selection follows in as few statements as its levels allow:
//  - a node asked with its breadcrumb (depth, parent, ancestors) is the one statement that walks up
//    from it (the node itself included);
//  - an entity asked with the entities it links to (parent, sector, geography, and theirs: an issuer's
//    card, an instrument's issuer) reads them with it, a few links deep, in one statement.
// Every answer equals the same fields asked one at a time, each in its own request.
import { seededService } from '../support/seeded';

const service = seededService({ positions: 300, funds: 2 });

const BREADCRUMB = `query($id: ID!) { portfolioNode(id: $id) { id name nodeType depth parent { id name nodeType } ancestors { id name nodeType } } }`;

it('answers a breadcrumb at every level of the tree in one statement, as its fields asked apart', async () => {
  const levels = await service.db.sql.query<{ id: string; node_type: string }>(
    `SELECT DISTINCT ON (node_type) id::text AS id, node_type::text AS node_type FROM portfolio_node ORDER BY node_type, name`);
  expect(levels.map((l) => l.node_type).sort()).toEqual(['BOOK', 'DESK', 'FUND', 'STRATEGY']);
  for (const { id, node_type: type } of levels) {
    const { data, statements } = await service.measured(BREADCRUMB, { id });
    expect(statements).toHaveLength(1);
    const node = data.portfolioNode as { id: string; name: string; depth: number; parent: { id: string } | null; ancestors: { id: string }[] };
    const apart = async (field: string) => (await service.measured(`query($id: ID!) { portfolioNode(id: $id) { ${field} } }`, { id })).data.portfolioNode;
    expect({ id: node.id, name: node.name, nodeType: type }).toEqual(await apart('id name nodeType'));
    expect(node.depth).toBe((await apart('depth')).depth);
    expect(node.parent).toEqual((await apart('parent { id name nodeType }')).parent);
    expect(node.ancestors).toEqual((await apart('ancestors { id name nodeType }')).ancestors);
    expect(node.ancestors).toHaveLength(node.depth);
    expect(node.ancestors.at(-1)?.id ?? null).toBe(node.parent?.id ?? null);
  }
  // A node that does not exist: null, still one statement for the walk (and one for the node).
  const missing = await service.measured(BREADCRUMB, { id: '00000000-0000-4000-8000-000000000000' });
  expect(missing.data.portfolioNode).toBeNull();
});

const LINKS = `id name parent { id name } sector { name code parent { name parent { name } } } geography { name code parent { name } }`;

it('reads an issuer with the entities it links to in one statement, as each level asked apart', async () => {
  const issuers = await service.db.sql.query<{ id: string }>(
    `SELECT id::text AS id FROM reference_data WHERE entity_type = 'ISSUER' AND sector_id IS NOT NULL AND geography_id IS NOT NULL
     ORDER BY parent_entity_id IS NULL, name LIMIT 3`);
  expect(issuers.length).toBe(3);
  for (const { id } of issuers) {
    const { data, statements } = await service.measured(`query($id: ID!) { referenceEntity(id: $id) { ${LINKS} } }`, { id });
    expect(statements).toHaveLength(1);
    const card = data.referenceEntity as { sector: { name: string } | null; geography: { name: string } | null };
    expect(card.sector).not.toBeNull();
    expect(card.geography).not.toBeNull();
    // Level by level: each entity read by itself.
    const one = async (entityId: string | null, fields: string) => (entityId === null ? null
      : (await service.measured(`query($id: ID!) { referenceEntity(id: $id) { ${fields} } }`, { id: entityId })).data.referenceEntity);
    const [row] = await service.db.sql.query<{ parent: string | null; sector: string | null; geography: string | null }>(
      `SELECT parent_entity_id::text AS parent, sector_id::text AS sector, geography_id::text AS geography FROM reference_data WHERE id = $1::uuid`, [id]);
    const sector = await one(row!.sector, 'name code parentId: parent { id }');
    const sectorParent = await one((sector?.parentId as { id: string } | null)?.id ?? null, 'name parentId: parent { id }');
    const sectorGrandparent = await one((sectorParent?.parentId as { id: string } | null)?.id ?? null, 'name');
    const geography = await one(row!.geography, 'name code parentId: parent { id }');
    const geographyParent = await one((geography?.parentId as { id: string } | null)?.id ?? null, 'name');
    expect(card).toEqual({
      ...(await one(id, 'id name')),
      parent: await one(row!.parent, 'id name'),
      sector: sector && { name: sector.name, code: sector.code, parent: sectorParent && { name: sectorParent.name, parent: sectorGrandparent } },
      geography: geography && { name: geography.name, code: geography.code, parent: geographyParent },
    });
  }
});

it("reads an instrument's issuer card with the issuer, its links and ratings in a statement per kind", async () => {
  const [{ isin }] = await service.db.sql.query<{ isin: string }>(
    `SELECT i.isin::text AS isin FROM instrument i JOIN reference_data e ON e.id = i.issuer_id WHERE i.isin IS NOT NULL AND e.sector_id IS NOT NULL ORDER BY i.isin LIMIT 1`) as [{ isin: string }];
  const { data, statements } = await service.measured(`query($isin: String!) { instrumentByIdentifier(isin: $isin) { id issuer { ${LINKS} ratings { agency rating } } } }`, { isin });
  // The instrument, the issuer with its links, its ratings.
  expect(statements).toHaveLength(3);
  const issuer = (data.instrumentByIdentifier as { issuer: { id: string } }).issuer;
  const alone = await service.measured(`query($id: ID!) { referenceEntity(id: $id) { ${LINKS} ratings { agency rating } } }`, { id: issuer.id });
  expect(issuer).toEqual(alone.data.referenceEntity);
});

it('lists issuers with the ratings their nodes ask (histories under two filters, ratings on two dates) in the page\'s statement', async () => {
  const FIELDS = `id name all: ratings { agency rating asOfDate } sp: ratings(agency: SP, from: "2026-01-01") { rating asOfDate }
    now: rating(agency: SP, asOf: "2026-10-30") { rating score asOfDate } before: rating(agency: MOODYS, asOf: "2026-06-30") { rating asOfDate }`;
  const { data, statements } = await service.measured(`{ referenceEntities(entityType: ISSUER, first: 20) { totalCount edges { node { ${FIELDS} } } } }`);
  expect(statements).toHaveLength(1);
  const nodes = (data.referenceEntities as { edges: { node: { id: string; all: unknown[]; now: unknown; before: unknown } }[] }).edges.map((e) => e.node);
  expect(nodes).toHaveLength(20);
  expect(nodes.filter((n) => n.all.length > 0).length).toBeGreaterThan(5);
  expect(nodes.filter((n) => n.now !== null).length).toBeGreaterThan(5);
  for (const node of nodes) {
    const alone = await service.measured(`query($id: ID!) { referenceEntity(id: $id) { ${FIELDS} } }`, { id: node.id });
    expect(node).toEqual(alone.data.referenceEntity);
  }
});
