// Reads of instruments: by id (for the loader) and by security identifiers.
import { Prisma, type Instrument } from '../../generated/prisma/client';
import { normalizeIdentifier } from '../../domain/identifiers';
import { badInput } from '../../errors';
import { optionalIdentifier, validIds, filterText } from '../inputs';
import { driverQuery, epochMs, instantOf, optionalDateOf } from '../../db/driverRows';
import type { Read } from '../portfolio/nodes';

/** The columns of instrument under the names of the Prisma model, for Database.read (src/db/driverRows.ts): the DATE as text, timestamps as milliseconds. */
export const INSTRUMENT_COLUMNS_TEXT = Prisma.raw(
  `i.id, i.name, i.asset_class AS "assetClass", i.currency, i.isin, i.cusip, i.ticker, i.issuer_id AS "issuerId",
   i.maturity_date::text AS "maturityDate", i.attributes_json AS "attributesJson", ${epochMs('i.created_at', 'createdAt')}, ${epochMs('i.updated_at', 'updatedAt')}`,
);

/**
 * Instruments by id (the loader's batch: hundreds of ids for a tree of positions), through the
 * driver (src/db/driverRows.ts): Prisma's findMany with `in` builds and decodes the same query at
 * about twice the cost of a raw statement (7.6 vs 4.8 ms for 600 ids), and the raw statement's
 * decoding by Prisma was still a large part of a tree of positions' CPU.
 */
export async function findInstrumentsByIds(read: Read, ids: readonly string[]): Promise<Instrument[]> {
  const valid = validIds(ids);
  if (valid.length === 0) return [];
  const rows = await read<InstrumentText>(...driverQuery(Prisma.sql`SELECT ${INSTRUMENT_COLUMNS_TEXT} FROM instrument i WHERE i.id = ANY(${valid}::uuid[])`));
  return rows.map(instrumentOf);
}

/** An instrument read with INSTRUMENT_COLUMNS_TEXT (also as the JSON of a row: the same names and values). */
export type InstrumentText = Omit<Instrument, 'maturityDate' | 'createdAt' | 'updatedAt'> & { maturityDate: string | null; createdAt: number; updatedAt: number };

/** An instrument as Prisma returns it, from its INSTRUMENT_COLUMNS_TEXT row. */
export const instrumentOf = (row: InstrumentText): Instrument =>
  ({
    id: row.id, name: row.name, assetClass: row.assetClass, currency: row.currency, isin: row.isin, cusip: row.cusip, ticker: row.ticker,
    issuerId: row.issuerId, maturityDate: optionalDateOf(row.maturityDate), attributesJson: row.attributesJson,
    createdAt: instantOf(row.createdAt), updatedAt: instantOf(row.updatedAt),
  });

export interface InstrumentIdentifiers {
  isin?: string | null;
  cusip?: string | null;
  ticker?: string | null;
}

/**
 * The instrument all the given identifiers name (null when none does, or when
 * they name different ones). ISIN and CUSIP check digits are verified: a
 * mistyped one is BAD_USER_INPUT rather than a silent miss. A ticker has no
 * check digit, so any text is looked up as it is (normalised).
 */
export async function findInstrumentByIdentifiers(read: Read, ids: InstrumentIdentifiers): Promise<Instrument | null> {
  const isin = optionalIdentifier('isin', ids.isin, 'isin');
  const cusip = optionalIdentifier('cusip', ids.cusip, 'cusip');
  const ticker = ids.ticker?.trim() ? normalizeIdentifier(filterText(ids.ticker, 'ticker', 32)) : null;
  if (isin === null && cusip === null && ticker === null) {
    throw badInput('isin', 'give at least one of isin, cusip or ticker');
  }
  // Each identifier compared in its column's own type, so that its unique index answers.
  const conditions = [
    ...(isin ? [Prisma.sql`i.isin = ${isin}::bpchar`] : []),
    ...(cusip ? [Prisma.sql`i.cusip = ${cusip}::bpchar`] : []),
    ...(ticker ? [Prisma.sql`i.ticker = ${ticker}::varchar`] : []),
  ];
  const [row] = await read<InstrumentText>(...driverQuery(Prisma.sql`
    SELECT ${INSTRUMENT_COLUMNS_TEXT} FROM instrument i WHERE ${Prisma.join(conditions, ' AND ')} LIMIT 1`));
  return row ? instrumentOf(row) : null;
}
