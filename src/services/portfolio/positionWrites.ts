// Opening and closing positions, and recording valuations. Each call is one
// transaction: on any error nothing is written.
import type { Scope } from '../../auth/caller';
import type { Prisma as Db } from '../../db/database';
import { MONEY, QUANTITY } from '../../domain/decimal';
import { badInput, DomainError, notFound } from '../../errors';
import type { Position } from '../../generated/prisma/client';
import { currencyCode, exactDecimal, isoDate, isUuid, validIds } from '../inputs';
import { inScope } from './nodes';

export const MAX_VALUATIONS_PER_CALL = 10_000;

export interface OpenPositionInput {
  nodeId: string;
  instrumentId: string;
  quantity: string;
  baseCurrency: string;
}

export async function openPosition(prisma: Db, input: OpenPositionInput, scope: Scope): Promise<Position> {
  const quantity = exactDecimal(input.quantity, QUANTITY, 'input.quantity');
  const baseCcy = currencyCode(input.baseCurrency, 'input.baseCurrency');
  return prisma.$transaction(async (tx) => {
    const node = isUuid(input.nodeId) ? await tx.portfolioNode.findFirst({ where: { id: input.nodeId.toLowerCase(), ...inScope(scope) } }) : null;
    if (!node) throw notFound('input.nodeId', `No portfolio node with id ${JSON.stringify(input.nodeId.slice(0, 64))}`);
    if (node.nodeType !== 'BOOK' && node.nodeType !== 'STRATEGY') {
      throw new DomainError('HIERARCHY_VIOLATION', `Positions are held by BOOK and STRATEGY nodes, not by a ${node.nodeType} ("${node.name}")`, 'input.nodeId');
    }
    const instrument = isUuid(input.instrumentId) ? await tx.instrument.findUnique({ where: { id: input.instrumentId } }) : null;
    if (!instrument) throw notFound('input.instrumentId', `No instrument with id ${JSON.stringify(input.instrumentId.slice(0, 64))}`);
    return tx.position.create({ data: { portfolioNodeId: node.id, instrumentId: instrument.id, quantity, baseCcy, status: 'ACTIVE' } });
  });
}

export async function closePosition(prisma: Db, id: string, scope: Scope): Promise<Position> {
  return prisma.$transaction(async (tx) => {
    const position = isUuid(id) ? await tx.position.findFirst({ where: { id: id.toLowerCase(), node: inScope(scope) } }) : null;
    if (!position) throw notFound('id', `No position with id ${JSON.stringify(id.slice(0, 64))}`);
    if (position.status === 'DELETED') throw new DomainError('CONFLICT', 'A deleted position cannot be closed', 'id');
    if (position.status === 'CLOSED') return position;
    return tx.position.update({ where: { id }, data: { status: 'CLOSED' } });
  });
}

export interface ValuationInput {
  positionId: string;
  asOfDate: Date;
  marketValue: string;
  currency: string;
}

interface CheckedValuation {
  positionId: string;
  asOfDate: string;
  marketValue: string;
  currency: string;
}

function checkValuations(input: readonly ValuationInput[]): CheckedValuation[] {
  if (input.length > MAX_VALUATIONS_PER_CALL) {
    throw badInput('input', `At most ${MAX_VALUATIONS_PER_CALL} valuations per call (got ${input.length})`);
  }
  const seen = new Set<string>();
  return input.map((v, i) => {
    const field = `input[${i}]`;
    if (!isUuid(v.positionId)) throw notFound(`${field}.positionId`, `No position with id ${JSON.stringify(v.positionId.slice(0, 64))}`);
    const checked = {
      positionId: v.positionId.toLowerCase(),
      asOfDate: isoDate(v.asOfDate),
      marketValue: exactDecimal(v.marketValue, MONEY, `${field}.marketValue`),
      currency: currencyCode(v.currency, `${field}.currency`),
    };
    const key = `${checked.positionId}|${checked.asOfDate}`;
    if (seen.has(key)) throw badInput(`${field}.asOfDate`, `Position ${v.positionId} is valued twice for ${checked.asOfDate} in this call`);
    seen.add(key);
    return checked;
  });
}

/** Records valuations all or none; a valuation of the same position and date replaces the earlier one. */
export async function recordValuations(prisma: Db, input: readonly ValuationInput[], scope: Scope): Promise<number> {
  const rows = checkValuations(input);
  if (rows.length === 0) return 0;
  return prisma.$transaction(async (tx) => {
    const ids = [...new Set(rows.map((r) => r.positionId))];
    const visible = { id: { in: validIds(ids) }, node: inScope(scope) };
    const found = new Set((await tx.position.findMany({ where: visible, select: { id: true } })).map((p) => p.id));
    const missing = rows.findIndex((r) => !found.has(r.positionId));
    if (missing >= 0) throw notFound(`input[${missing}].positionId`, `No position with id ${rows[missing]!.positionId}`);
    return tx.$executeRaw`
      INSERT INTO valuation_result (position_id, as_of_date, market_value, currency)
      SELECT * FROM unnest(${rows.map((r) => r.positionId)}::uuid[], ${rows.map((r) => r.asOfDate)}::date[],
                           ${rows.map((r) => r.marketValue)}::numeric[], ${rows.map((r) => r.currency)}::text[])
      ON CONFLICT (position_id, as_of_date)
      DO UPDATE SET market_value = EXCLUDED.market_value, currency = EXCLUDED.currency, updated_at = now()`;
  });
}
