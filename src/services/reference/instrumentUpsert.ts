// upsertInstrument: one transaction that finds the instrument to update (by
// id, else by ISIN, then CUSIP), checks the issuer and writes it. Unique
// identifiers held by another instrument are CONFLICT on that field.
import type { Prisma } from '../../db/database';
import { AssetClass, type Instrument } from '../../generated/prisma/client';
import { badInput, DomainError, notFound } from '../../errors';
import { currencyCode, optionalIdentifier, requiredText } from '../inputs';
import { withConflicts, type UniqueRule } from '../prismaErrors';
import { given, optionalId, type Db } from './common';
import { retryingSerialization } from '../time/retry';

/** What a caller sends (the GraphQL InstrumentInput has this shape). */
export interface InstrumentFields {
  id?: string | null;
  name: string;
  assetClass: string;
  currency: string;
  isin?: string | null;
  cusip?: string | null;
  ticker?: string | null;
  issuerId?: string | null;
  maturityDate?: Date | null;
}

/** Normalised fields; undefined = not given (kept on update), null = cleared. */
interface InstrumentChanges {
  id: string | null;
  name: string;
  assetClass: AssetClass;
  currency: string;
  isin: string | null | undefined;
  cusip: string | null | undefined;
  ticker: string | null | undefined;
  issuerId: string | null | undefined;
  maturityDate: Date | null | undefined;
}

const ASSET_CLASSES = Object.values(AssetClass) as AssetClass[];

const INSTRUMENT_UNIQUE: readonly UniqueRule[] = [
  { index: 'instrument_isin_key', columns: ['isin'], field: 'input.isin' },
  { index: 'instrument_cusip_key', columns: ['cusip'], field: 'input.cusip' },
  { index: 'instrument_ticker_key', columns: ['ticker'], field: 'input.ticker' },
];

export function assetClass(value: string, field: string): AssetClass {
  const normalised = value.trim().toUpperCase();
  const found = ASSET_CLASSES.find((c) => c === normalised);
  if (!found) throw badInput(field, `${field} must be one of ${ASSET_CLASSES.join(', ')}, got "${value.slice(0, 20)}"`);
  return found;
}

function validDate(value: Date, field: string): Date {
  if (Number.isNaN(value.getTime())) throw badInput(field, `${field} must be a calendar date such as "2031-06-15"`);
  return value;
}

export function normaliseInstrumentInput(input: InstrumentFields): InstrumentChanges {
  return {
    id: optionalId(input.id, 'input.id') ?? null,
    name: requiredText(input.name, 'input.name', 200),
    assetClass: assetClass(input.assetClass, 'input.assetClass'),
    currency: currencyCode(input.currency, 'input.currency'),
    isin: given(input.isin, (v) => optionalIdentifier('isin', v, 'input.isin')),
    cusip: given(input.cusip, (v) => optionalIdentifier('cusip', v, 'input.cusip')),
    ticker: given(input.ticker, (v) => optionalIdentifier('ticker', v, 'input.ticker')),
    issuerId: optionalId(input.issuerId, 'input.issuerId'),
    maturityDate: given(input.maturityDate, (d) => validDate(d, 'input.maturityDate')),
  };
}

/** The instrument to update (null: create one): by id, else by ISIN, then CUSIP. */
async function findTarget(tx: Db, c: InstrumentChanges): Promise<Instrument | null> {
  if (c.id) {
    const row = await tx.instrument.findUnique({ where: { id: c.id } });
    if (!row) throw notFound('input.id', `input.id "${c.id}" does not exist`);
    return row;
  }
  const or = [...(c.isin ? [{ isin: c.isin }] : []), ...(c.cusip ? [{ cusip: c.cusip }] : [])];
  if (or.length === 0) return null;
  const rows = await tx.instrument.findMany({ where: { OR: or } });
  const byIsin = rows.find((r) => c.isin && r.isin === c.isin);
  const byCusip = rows.find((r) => c.cusip && r.cusip === c.cusip);
  if (byIsin && byCusip && byIsin.id !== byCusip.id) {
    throw new DomainError('CONFLICT', `input.cusip belongs to another instrument ("${byCusip.name}") than input.isin ("${byIsin.name}")`, 'input.cusip');
  }
  return byIsin ?? byCusip ?? null;
}

async function checkIssuer(tx: Db, issuerId: string | null | undefined): Promise<void> {
  if (!issuerId) return;
  const issuer = await tx.referenceData.findUnique({ where: { id: issuerId }, select: { name: true, entityType: true } });
  if (!issuer) throw notFound('input.issuerId', `input.issuerId "${issuerId}" does not exist`);
  if (issuer.entityType !== 'ISSUER') {
    throw badInput('input.issuerId', `input.issuerId: the issuer must be an ISSUER, but "${issuer.name}" is a ${issuer.entityType}`);
  }
}

/** The columns to write; fields left out stay undefined, which Prisma leaves untouched. */
function columns(c: InstrumentChanges) {
  const { name, assetClass: cls, currency, isin, cusip, ticker, issuerId, maturityDate } = c;
  return { name, assetClass: cls, currency, isin, cusip, ticker, issuerId, maturityDate };
}

/** Creates or updates an instrument (see InstrumentInput in schema.graphql). */
export async function upsertInstrument(prisma: Prisma, input: InstrumentFields): Promise<Instrument> {
  const changes = normaliseInstrumentInput(input);
  return withConflicts(INSTRUMENT_UNIQUE, 'instrument', () =>
    retryingSerialization(() => prisma.$transaction(async (tx) => {
      const target = await findTarget(tx, changes);
      await checkIssuer(tx, changes.issuerId);
      const data = columns(changes);
      return target ? tx.instrument.update({ where: { id: target.id }, data }) : tx.instrument.create({ data });
    })),
  );
}
