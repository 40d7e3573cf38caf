// Opening, adjusting, closing and deleting positions, and recording valuations.
// Each call is one transaction: on any error nothing is written. A position's
// holdings are versions over valid time (position_version); the database
// function position_change() applies a change to them and keeps the position's
// summary (quantity, status, openedOn, closedOn as known now); the checks of
// dates and states, with the offending field, are made here first.
import type { Scope } from '../../auth/caller';
import type { Prisma as Db } from '../../db/database';
import { MONEY, QUANTITY } from '../../domain/decimal';
import { badInput, DomainError, notFound } from '../../errors';
import type { Position } from '../../generated/prisma/client';
import { currencyCode, exactDecimal, isoDate, isUuid, validIds } from '../inputs';
import { retryingSerialization } from '../time/retry';
import { inScope } from './nodes';

export const MAX_VALUATIONS_PER_CALL = 10_000;

export interface OpenPositionInput {
  nodeId: string;
  instrumentId: string;
  quantity: string;
  baseCurrency: string;
  tradeDate?: Date | null;
}

/** A business date of a change: a calendar date, not after today (UTC, when the request arrived). */
export function effectiveDate(value: Date | null | undefined, field: string, today: string): string {
  if (value === null || value === undefined) return today;
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw badInput(field, `${field} must be a calendar date`);
  const date = isoDate(value);
  if (date > today) throw badInput(field, `${field} ${date} is in the future (today is ${today}, UTC)`);
  return date;
}

export async function openPosition(prisma: Db, input: OpenPositionInput, scope: Scope, today: string): Promise<Position> {
  const quantity = exactDecimal(input.quantity, QUANTITY, 'input.quantity');
  const baseCcy = currencyCode(input.baseCurrency, 'input.baseCurrency');
  const tradeDate = effectiveDate(input.tradeDate, 'input.tradeDate', today);
  return prisma.$transaction(async (tx) => {
    const node = isUuid(input.nodeId) ? await tx.portfolioNode.findFirst({ where: { id: input.nodeId.toLowerCase(), ...inScope(scope) } }) : null;
    if (!node) throw notFound('input.nodeId', `No portfolio node with id ${JSON.stringify(input.nodeId.slice(0, 64))}`);
    if (node.nodeType !== 'BOOK' && node.nodeType !== 'STRATEGY') {
      throw new DomainError('HIERARCHY_VIOLATION', `Positions are held by BOOK and STRATEGY nodes, not by a ${node.nodeType} ("${node.name}")`, 'input.nodeId');
    }
    const instrument = isUuid(input.instrumentId) ? await tx.instrument.findUnique({ where: { id: input.instrumentId } }) : null;
    if (!instrument) throw notFound('input.instrumentId', `No instrument with id ${JSON.stringify(input.instrumentId.slice(0, 64))}`);
    const opened = new Date(`${tradeDate}T00:00:00Z`);
    return tx.position.create({
      data: { portfolioNodeId: node.id, instrumentId: instrument.id, quantity, baseCcy, status: 'ACTIVE', openedOn: opened, stateFrom: opened },
    });
  });
}

type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

/** The position, locked for this transaction; NOT_FOUND when missing or outside the caller's funds. */
async function lockedPosition(tx: Tx, id: string, field: string, scope: Scope): Promise<Position> {
  const key = isUuid(id) ? id.toLowerCase() : null;
  const found = key ? await tx.position.findFirst({ where: { id: key, node: inScope(scope) }, select: { id: true } }) : null;
  if (!found) throw notFound(field, `No position with id ${JSON.stringify(id.slice(0, 64))}`);
  await tx.$queryRaw`SELECT 1 FROM position WHERE id = ${found.id}::uuid FOR NO KEY UPDATE`;
  return (await tx.position.findUnique({ where: { id: found.id } }))!;
}

type ChangeKind = 'ADJUST' | 'CLOSE' | 'DELETE';

async function applyChange(tx: Tx, id: string, kind: ChangeKind, quantity: string | null, date: string | null): Promise<Position> {
  await tx.$queryRaw`SELECT 1 AS done FROM position_change(${id}::uuid, ${kind}, ${quantity}::numeric, ${date}::date)`;
  return (await tx.position.findUnique({ where: { id } }))!;
}

/** One position change in one transaction, retried when a concurrent writer recorded a version first. */
function changeTransaction(prisma: Db, run: (tx: Tx) => Promise<Position>): Promise<Position> {
  return retryingSerialization(() => prisma.$transaction(run));
}

const day = (date: Date) => isoDate(date);

export interface AdjustPositionInput {
  positionId: string;
  quantity: string;
  effectiveDate: Date;
}

/** Quantity `quantity` from the effective date until the position's next change (back-dating allowed). */
export async function adjustPosition(prisma: Db, input: AdjustPositionInput, scope: Scope, today: string): Promise<Position> {
  const quantity = exactDecimal(input.quantity, QUANTITY, 'input.quantity');
  const date = effectiveDate(input.effectiveDate, 'input.effectiveDate', today);
  return changeTransaction(prisma, async (tx) => {
    const position = await lockedPosition(tx, input.positionId, 'input.positionId', scope);
    if (position.status === 'DELETED') throw new DomainError('CONFLICT', 'A deleted position cannot be adjusted', 'input.positionId');
    if (date < day(position.openedOn)) {
      throw badInput('input.effectiveDate', `input.effectiveDate ${date} is before the position's openedOn (${day(position.openedOn)})`);
    }
    if (position.closedOn && date >= day(position.closedOn)) {
      throw badInput('input.effectiveDate', `input.effectiveDate ${date} is on or after the position's closedOn (${day(position.closedOn)}): it is not held then`);
    }
    return applyChange(tx, position.id, 'ADJUST', quantity, date);
  });
}

/** Not held from the effective date on (default today); the same date again changes nothing. */
export async function closePosition(prisma: Db, id: string, effective: Date | null | undefined, scope: Scope, today: string): Promise<Position> {
  const date = effectiveDate(effective, 'effectiveDate', today);
  return changeTransaction(prisma, async (tx) => {
    const position = await lockedPosition(tx, id, 'id', scope);
    if (position.status === 'DELETED') throw new DomainError('CONFLICT', 'A deleted position cannot be closed', 'id');
    if (date < day(position.openedOn)) throw badInput('effectiveDate', `effectiveDate ${date} is before the position's openedOn (${day(position.openedOn)})`);
    if (position.closedOn) {
      const closed = day(position.closedOn);
      if (date === closed) return position;
      if (date > closed) throw badInput('effectiveDate', `effectiveDate ${date} is after the position's closedOn (${closed}): it is closed already`);
    }
    return applyChange(tx, position.id, 'CLOSE', null, date);
  });
}

/** Entered in error: never held, as known from now on. Deleting again changes nothing. */
export async function deletePosition(prisma: Db, id: string, scope: Scope): Promise<Position> {
  return changeTransaction(prisma, async (tx) => {
    const position = await lockedPosition(tx, id, 'id', scope);
    if (position.status === 'DELETED') return position;
    return applyChange(tx, position.id, 'DELETE', null, null);
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

function checkValuations(input: readonly ValuationInput[], today: string): CheckedValuation[] {
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
    if (checked.asOfDate > today) throw badInput(`${field}.asOfDate`, `${field}.asOfDate ${checked.asOfDate} is in the future (today is ${today}, UTC)`);
    const key = `${checked.positionId}|${checked.asOfDate}`;
    if (seen.has(key)) throw badInput(`${field}.asOfDate`, `Position ${v.positionId} is valued twice for ${checked.asOfDate} in this call`);
    seen.add(key);
    return checked;
  });
}

/**
 * Records valuations all or none. Another value (or currency) for a position and date that has one is a
 * correction: the current version is superseded from this transaction's recording stamp on and the new one
 * recorded. The same value again writes nothing. Returns the number of versions written. A valuation dated
 * before the position's openedOn, or in the future, is BAD_USER_INPUT.
 */
export async function recordValuations(prisma: Db, input: readonly ValuationInput[], scope: Scope, today: string): Promise<number> {
  const rows = checkValuations(input, today);
  if (rows.length === 0) return 0;
  return retryingSerialization(() => prisma.$transaction(async (tx) => {
    const ids = [...new Set(rows.map((r) => r.positionId))];
    const visible = { id: { in: validIds(ids) }, node: inScope(scope) };
    const found = new Map((await tx.position.findMany({ where: visible, select: { id: true, openedOn: true } })).map((p) => [p.id, isoDate(p.openedOn)]));
    rows.forEach((r, i) => {
      const openedOn = found.get(r.positionId);
      if (openedOn === undefined) throw notFound(`input[${i}].positionId`, `No position with id ${r.positionId}`);
      if (r.asOfDate < openedOn) throw badInput(`input[${i}].asOfDate`, `input[${i}].asOfDate ${r.asOfDate} is before the position's openedOn (${openedOn})`);
    });
    const [pids, dates, values, currencies] = [rows.map((r) => r.positionId), rows.map((r) => r.asOfDate), rows.map((r) => r.marketValue), rows.map((r) => r.currency)];
    await tx.$executeRaw`
      UPDATE valuation_result v SET superseded_at = superseding_stamp(v.recorded_at), updated_at = now()
      FROM unnest(${pids}::uuid[], ${dates}::date[], ${values}::numeric[], ${currencies}::text[]) AS u (pid, d, mv, ccy)
      WHERE v.position_id = u.pid AND v.as_of_date = u.d AND v.superseded_at IS NULL AND (v.market_value <> u.mv OR v.currency <> u.ccy)`;
    return tx.$executeRaw`
      INSERT INTO valuation_result (position_id, portfolio_node_id, as_of_date, market_value, currency)
      SELECT u.pid, p.portfolio_node_id, u.d, u.mv, u.ccy
      FROM unnest(${pids}::uuid[], ${dates}::date[], ${values}::numeric[], ${currencies}::text[]) AS u (pid, d, mv, ccy)
      JOIN position p ON p.id = u.pid
      WHERE NOT EXISTS (SELECT 1 FROM valuation_result v WHERE v.position_id = u.pid AND v.as_of_date = u.d AND v.superseded_at IS NULL)`;
  }));
}
