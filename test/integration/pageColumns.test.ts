// A page of positions and a list of reference entities read only the columns their rows are asked
// (src/graphql/plan.ts: POSITION_FIELD_COLUMNS, ENTITY_FIELD_COLUMNS, RATING_FIELD_COLUMNS for a list's ratings). Every field of the schema's Position (walked from
// the schema, so a field added later is covered too) is asked alone beside the id, on a page now, on
// a page as of a past date and on a level of a tree, and each answer is compared with the same
// positions looked up by id (whole rows, read apart) and, for the position's own values, with
// Prisma's rows. The page's statement is checked to read the asked columns and not the others.
import { readFileSync } from 'node:fs';
import { buildSchema, getNamedType, isLeafType, isNonNullType, isObjectType, type GraphQLField } from 'graphql';
import { seededService } from '../support/seeded';

const seeded = seededService({ seed: 12, positions: 400, funds: 2 });
const { measured } = seeded;
const schema = buildSchema(readFileSync('schema.graphql', 'utf8'));
const fieldsOf = (type: string) => Object.values((schema.getType(type) as import('graphql').GraphQLObjectType).getFields());
const positionFields = fieldsOf('Position');

let fund: string;
let dates: string[];

beforeAll(async () => {
  ({ fund, dates } = await seeded.fundAndValuationDates());
  expect(dates.length).toBeGreaterThanOrEqual(2);
});

/** The values given to a field's required arguments: a date the data has valuations on. */
const argumentValue = (name: string): string => {
  if (name === 'asOf' || name === 'asOfDate') return `"${dates[1]}"`;
  if (name === 'agency') return 'SP';
  throw new Error(`pageColumns.test: no value for the required argument ${name}; add one`);
};

/** A field asked alone: a leaf by name; an object with its leaf fields (required arguments filled). */
function selectionOf(field: GraphQLField<unknown, unknown>): string {
  const args = field.args.filter((a) => isNonNullType(a.type)).map((a) => `${a.name}: ${argumentValue(a.name)}`);
  const call = args.length > 0 ? `${field.name}(${args.join(', ')})` : field.name;
  const type = getNamedType(field.type);
  if (isLeafType(type)) return call;
  if (!isObjectType(type)) throw new Error(`pageColumns.test: ${field.name} is neither a leaf nor an object`);
  const leaves = Object.values(type.getFields()).filter((f) => isLeafType(getNamedType(f.type)) && f.args.every((a) => !isNonNullType(a.type)));
  return `${call} { ${leaves.map((f) => f.name).join(' ')} }`;
}

/** The same rows, each looked up by id (whole rows: positionById, referenceById), asked the same selection. */
async function byId(ids: string[], selection: string, lookup = 'position'): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (let start = 0; start < ids.length; start += 25) { // the service's alias limit is 30 a request
    const chunk = ids.slice(start, start + 25);
    const { data } = await measured(`{ ${chunk.map((id, k) => `p${k}: ${lookup}(id: "${id}") { id ${selection} }`).join(' ')} }`);
    out.push(...chunk.map((_, k) => data[`p${k}`]));
  }
  return out;
}

/** The page statement of a request's statements (the one reading position rows after the cursor). */
const pageStatement = (statements: string[]) => {
  const found = statements.filter((s) => s.includes('paged AS'));
  expect(found).toHaveLength(1);
  return found[0]!;
};

describe.each(positionFields.map((f) => [f.name, f] as const))('Position.%s asked alone', (name, field) => {
  it('a fund\'s page over every level answers it as the positions looked up by id do, reading only what it needs', async () => {
    const selection = selectionOf(field);
    const { data, statements } = await measured(`query($id: ID!) { portfolioNode(id: $id) {
      positions(includeDescendants: true, first: 60) { edges { node { id ${selection} } } } } }`, { id: fund });
    const nodes = data.portfolioNode.positions.edges.map((e: any) => e.node);
    expect(nodes.length).toBe(60);
    expect(nodes).toEqual(await byId(nodes.map((n: any) => n.id), selection));
    const statement = pageStatement(statements);
    // The quantity column is read when quantity is asked, and only then (the row's other columns alike).
    expect(statement.includes('p.quantity::text')).toBe(name === 'quantity');
    expect(statement.includes('p.opened_on::text')).toBe(name === 'openedOn');
    expect(statement.includes('p.created_at')).toBe(false);
  });

  it('a page as of a past date and a level of a tree answer it alike', async () => {
    const selection = selectionOf(field);
    const { data } = await measured(`query($id: ID!, $past: Date!) { portfolioNode(id: $id) {
      past: positions(includeDescendants: true, first: 40, asOf: $past) { edges { node { id ${selection} } } }
      children { children { positions(first: 5) { edges { node { id ${selection} } } } } } } }`, { id: fund, past: dates[1] });
    const past = data.portfolioNode.past.edges.map((e: any) => e.node);
    const level = data.portfolioNode.children.flatMap((d: any) => d.children.flatMap((b: any) => b.positions.edges.map((e: any) => e.node)));
    expect(past.length).toBeGreaterThan(10);
    expect(level.length).toBeGreaterThan(10);
    expect(past).toEqual(await byId(past.map((n: any) => n.id), selection));
    expect(level).toEqual(await byId(level.map((n: any) => n.id), selection));
  });
});

it('the position\'s own values on a page asking all of them are Prisma\'s', async () => {
  const { data, statements } = await measured(`query($id: ID!) { portfolioNode(id: $id) {
    positions(includeDescendants: true, first: 80) { edges { node { id quantity status baseCurrency openedOn closedOn node { id } instrument { id } } } } } }`, { id: fund });
  const nodes = data.portfolioNode.positions.edges.map((e: any) => e.node);
  const rows = await seeded.db.prisma.position.findMany({ where: { id: { in: nodes.map((n: any) => n.id) } } });
  const byKey = new Map(rows.map((p) => [p.id, p]));
  expect(rows.some((p) => p.closedOn !== null)).toBe(true);
  for (const n of nodes) {
    const p = byKey.get(n.id)!;
    expect(n).toEqual({
      id: p.id, quantity: p.quantity.toFixed(), status: p.status, baseCurrency: p.baseCcy, openedOn: p.openedOn.toISOString().slice(0, 10),
      closedOn: p.closedOn?.toISOString().slice(0, 10) ?? null, node: { id: p.portfolioNodeId }, instrument: { id: p.instrumentId },
    });
  }
  // Still none of the columns no field reads.
  expect(pageStatement(statements)).not.toMatch(/p\.state_from|p\.created_at|p\.updated_at/);
});

it('two selections of the same page arguments on one level read their own columns (aliases do not share a partial page)', async () => {
  const { data } = await measured(`query($id: ID!) { portfolioNode(id: $id) {
    a: positions(includeDescendants: true, first: 30) { edges { node { id } } }
    b: positions(includeDescendants: true, first: 30) { edges { node { id quantity openedOn } } } } }`, { id: fund });
  const b = data.portfolioNode.b.edges.map((e: any) => e.node);
  expect(data.portfolioNode.a.edges.map((e: any) => e.node.id)).toEqual(b.map((n: any) => n.id));
  expect(b).toEqual(await byId(b.map((n: any) => n.id), 'quantity openedOn'));
});

describe.each(fieldsOf('ReferenceEntity').map((f) => [f.name, f] as const))('ReferenceEntity.%s asked alone of a list', (name, field) => {
  it('each entity of referenceEntities answers it as the entity looked up by id does, its statement reading only what it needs', async () => {
    const selection = selectionOf(field);
    const { data, statements } = await measured(`{ issuers: referenceEntities(entityType: ISSUER, first: 25) { edges { node { id ${selection} } } }
      sectors: referenceEntities(entityType: SECTOR, first: 10) { edges { node { id ${selection} } } } }`);
    const nodes = [...data.issuers.edges, ...data.sectors.edges].map((e: any) => e.node);
    expect(nodes.length).toBeGreaterThan(25);
    expect(nodes).toEqual(await byId(nodes.map((n: any) => n.id), selection, 'referenceEntity'));
    const lists = statements.filter((s) => s.includes('FROM reference_data e WHERE e.entity_type'));
    expect(lists.length).toBeGreaterThanOrEqual(1);
    for (const list of lists) {
      expect(list.includes('e.attributes_json')).toBe(name === 'attributes');
      expect(list.includes('e.sector_id')).toBe(name === 'sector');
      expect(list.includes('e.created_at')).toBe(false);
    }
  });
});

describe.each(fieldsOf('Rating').map((f) => [f.name, f] as const))('Rating.%s asked alone of a list\'s ratings', (name, field) => {
  it('each entity\'s ratings answer it as the entity looked up by id does, the list reading only what it needs', async () => {
    const selection = `ratings { ${selectionOf(field)} } sp: ratings(agency: SP) { ${selectionOf(field)} }`;
    // (14: two aliases an entity in the lookups, at most 30 a request.)
    const { data, statements } = await measured(`{ referenceEntities(entityType: ISSUER, first: 14) { edges { node { id ${selection} } } } }`);
    const nodes = data.referenceEntities.edges.map((e: any) => e.node);
    // Rated issuers, by several agencies: the answers can differ in what they read.
    expect(nodes.filter((n: any) => n.ratings.length > 1).length).toBeGreaterThan(5);
    expect(nodes.some((n: any) => n.sp.length > 0 && n.sp.length < n.ratings.length)).toBe(true);
    expect(nodes).toEqual(await byId(nodes.map((n: any) => n.id), selection, 'referenceEntity'));
    const [list] = statements.filter((s) => s.includes('FROM reference_data e WHERE e.entity_type'));
    expect(list).toContain('rating_history');
    expect(list!.includes('r.recorded_at')).toBe(name === 'recordedAt');
    expect(list!.includes('r.created_at')).toBe(false);
  });
});

it('a list asking every field of its entities still answers them all as the lookups by id do, and pages on by name', async () => {
  const all = fieldsOf('ReferenceEntity').map(selectionOf).join(' ');
  const first = await measured(`{ referenceEntities(entityType: ISSUER, first: 12) { pageInfo { endCursor } edges { node { ${all} } } } }`);
  const next = await measured(`query($after: String) { referenceEntities(entityType: ISSUER, first: 12, after: $after) { edges { node { id name } } } }`,
    { after: first.data.referenceEntities.pageInfo.endCursor });
  const nodes = first.data.referenceEntities.edges.map((e: any) => e.node);
  expect(nodes).toEqual(await byId(nodes.map((n: any) => n.id), all.replace(/^id /, ''), 'referenceEntity'));
  // Both pages are the database's first 24 issuers by name then id (the cursor's name was read).
  const expected = await seeded.db.prisma.referenceData.findMany({ where: { entityType: 'ISSUER' }, orderBy: [{ name: 'asc' }, { id: 'asc' }], take: 24, select: { id: true } });
  expect([...nodes, ...next.data.referenceEntities.edges.map((e: any) => e.node)].map((n: any) => n.id)).toEqual(expected.map((e) => e.id));
});
