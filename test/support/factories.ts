// Small typed factories for named fixtures: createX(db, overrides).
import type { Database } from '../../src/db/database';
import type { Instrument, PortfolioNode, Position, ReferenceData } from '../../src/generated/prisma/client';

let counter = 0;
const next = () => ++counter;

export function createNode(db: Database, overrides: Partial<PortfolioNode> & Pick<PortfolioNode, 'nodeType'>): Promise<PortfolioNode> {
  return db.prisma.portfolioNode.create({
    data: { name: `${overrides.nodeType} ${next()}`, baseCcy: 'USD', ...overrides, tagsJson: (overrides.tagsJson ?? {}) as object },
  });
}

/** FUND > DESK > BOOK > STRATEGY, each named after `prefix`. */
export async function createChain(db: Database, prefix = 'T') {
  const fund = await createNode(db, { nodeType: 'FUND', name: `${prefix} Fund` });
  const desk = await createNode(db, { nodeType: 'DESK', name: `${prefix} Desk`, parentId: fund.id });
  const book = await createNode(db, { nodeType: 'BOOK', name: `${prefix} Book`, parentId: desk.id });
  const strategy = await createNode(db, { nodeType: 'STRATEGY', name: `${prefix} Strategy`, parentId: book.id });
  return { fund, desk, book, strategy };
}

export function createIssuer(db: Database, overrides: Partial<ReferenceData> = {}): Promise<ReferenceData> {
  return db.prisma.referenceData.create({
    data: { entityType: 'ISSUER', name: `Issuer ${next()}`, ...overrides, attributesJson: (overrides.attributesJson ?? {}) as object },
  });
}

export function createInstrument(db: Database, overrides: Partial<Instrument> = {}): Promise<Instrument> {
  return db.prisma.instrument.create({
    data: { name: `Instrument ${next()}`, assetClass: 'BOND', currency: 'USD', ...overrides, attributesJson: (overrides.attributesJson ?? {}) as object },
  });
}

type PositionOverrides = Partial<Omit<Position, 'quantity'>> & Pick<Position, 'portfolioNodeId' | 'instrumentId'> & { quantity?: string };

/** Held since 2000-01-01 unless told otherwise, so that valuations of any test date apply. */
export const FACTORY_TRADE_DATE = new Date('2000-01-01T00:00:00Z');

export function createPosition(db: Database, overrides: PositionOverrides): Promise<Position> {
  return db.prisma.position.create({
    data: { quantity: '1000', baseCcy: 'USD', status: 'ACTIVE', openedOn: FACTORY_TRADE_DATE, stateFrom: overrides.openedOn ?? FACTORY_TRADE_DATE, ...overrides },
  });
}

/** A change of quantity from `effective` on, through the database's own function (as adjustPosition does). */
export async function adjustQuantity(db: Database, positionId: string, quantity: string, effective: string): Promise<void> {
  await db.sql.query(`SELECT 1 FROM position_change($1::uuid, 'ADJUST', $2::numeric, $3::date)`, [positionId, quantity, effective]);
}
