// Normalisation and validation of a reference-entity upsert, before any I/O:
// text trimmed, codes and identifiers upper-cased and checked by the rules of
// the entity's type, errors naming the input field.
import type { ReferenceEntityType } from '../../generated/prisma/client';
import { isCountryCode, isCurrencyCode, isRegionCode } from '../../domain/codes';
import { badInput } from '../../errors';
import { jsonObject, optionalIdentifier, requiredText } from '../inputs';
import { given, optionalId } from './common';

/** What a caller sends (the GraphQL ReferenceEntityInput has this shape). */
export interface ReferenceEntityFields {
  id?: string | null;
  entityType: ReferenceEntityType;
  name: string;
  code?: string | null;
  ticker?: string | null;
  cusip?: string | null;
  isin?: string | null;
  lei?: string | null;
  parentId?: string | null;
  sectorId?: string | null;
  geographyId?: string | null;
  attributes?: Record<string, unknown> | null;
}

/** Normalised fields; undefined = not given (kept on update), null = cleared. */
export interface EntityChanges {
  id: string | null;
  entityType: ReferenceEntityType;
  name: string;
  code: string | null | undefined;
  ticker: string | null | undefined;
  cusip: string | null | undefined;
  isin: string | null | undefined;
  lei: string | null | undefined;
  parentId: string | null | undefined;
  sectorId: string | null | undefined;
  geographyId: string | null | undefined;
  attributes: Record<string, unknown> | undefined;
}

const ENTITY_TYPES: readonly ReferenceEntityType[] = ['ISSUER', 'SECTOR', 'GEOGRAPHY', 'CURRENCY'];
const SECTOR_OR_ISSUER_CODE = /^[A-Z0-9][A-Z0-9._-]{0,15}$/;

const CODE_RULES: Record<ReferenceEntityType, [(code: string) => boolean, string]> = {
  CURRENCY: [isCurrencyCode, 'an ISO 4217 currency code such as "USD"'],
  GEOGRAPHY: [(c) => isCountryCode(c) || isRegionCode(c), 'an ISO 3166 alpha-2 country code such as "GB" or a UN M49 region code such as "150"'],
  SECTOR: [(c) => SECTOR_OR_ISSUER_CODE.test(c), '1 to 16 letters, digits, ".", "_" or "-", starting with a letter or digit'],
  ISSUER: [(c) => SECTOR_OR_ISSUER_CODE.test(c), '1 to 16 letters, digits, ".", "_" or "-", starting with a letter or digit'],
};

/** The code of an entity of the given type, trimmed and upper-cased; null when blank. */
export function entityCode(entityType: ReferenceEntityType, value: string, field: string): string | null {
  const code = value.trim().toUpperCase();
  if (code === '') return null;
  const [valid, expected] = CODE_RULES[entityType];
  if (!valid(code)) throw badInput(field, `${field} of a ${entityType} must be ${expected}, got "${value.slice(0, 20)}"`);
  return code;
}

export function normaliseEntityInput(input: ReferenceEntityFields): EntityChanges {
  const entityType = input.entityType;
  if (!ENTITY_TYPES.includes(entityType)) throw badInput('input.entityType', `input.entityType must be one of ${ENTITY_TYPES.join(', ')}`);
  const id = optionalId(input.id, 'input.id');
  return {
    id: id ?? null,
    entityType,
    name: requiredText(input.name, 'input.name', 200),
    code: given(input.code, (v) => entityCode(entityType, v, 'input.code')),
    ticker: given(input.ticker, (v) => optionalIdentifier('ticker', v, 'input.ticker')),
    cusip: given(input.cusip, (v) => optionalIdentifier('cusip', v, 'input.cusip')),
    isin: given(input.isin, (v) => optionalIdentifier('isin', v, 'input.isin')),
    lei: given(input.lei, (v) => optionalIdentifier('lei', v, 'input.lei')),
    parentId: optionalId(input.parentId, 'input.parentId'),
    sectorId: optionalId(input.sectorId, 'input.sectorId'),
    geographyId: optionalId(input.geographyId, 'input.geographyId'),
    attributes: input.attributes === undefined ? undefined : jsonObject(input.attributes, 'input.attributes'),
  };
}
