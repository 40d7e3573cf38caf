// Reads of instruments: by id (for the loader) and by security identifiers.
import type { Instrument } from '../../generated/prisma/client';
import { normalizeIdentifier } from '../../domain/identifiers';
import { badInput } from '../../errors';
import { optionalIdentifier, validIds, filterText } from '../inputs';
import type { Db } from './common';

export function findInstrumentsByIds(db: Db, ids: readonly string[]): Promise<Instrument[]> {
  const valid = validIds(ids);
  if (valid.length === 0) return Promise.resolve([]);
  return db.instrument.findMany({ where: { id: { in: valid } } });
}

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
export async function findInstrumentByIdentifiers(db: Db, ids: InstrumentIdentifiers): Promise<Instrument | null> {
  const isin = optionalIdentifier('isin', ids.isin, 'isin');
  const cusip = optionalIdentifier('cusip', ids.cusip, 'cusip');
  const ticker = ids.ticker?.trim() ? normalizeIdentifier(filterText(ids.ticker, 'ticker', 32)) : null;
  if (isin === null && cusip === null && ticker === null) {
    throw badInput('isin', 'give at least one of isin, cusip or ticker');
  }
  const where = { ...(isin ? { isin } : {}), ...(cusip ? { cusip } : {}), ...(ticker ? { ticker } : {}) };
  return db.instrument.findFirst({ where });
}
