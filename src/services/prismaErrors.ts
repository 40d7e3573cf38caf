// Prisma's errors that mean something to a caller, recognised in one place.
import { DomainError } from '../errors';

// Services call these to turn a unique violation into CONFLICT and a vanished
// row into NOT_FOUND; every other database error stays internal (masked).

interface DriverCause {
  originalCode?: string;
  kind?: string;
  constraint?: { index?: string; fields?: string[] };
}

function driverCause(error: unknown): DriverCause | undefined {
  const meta = (error as { meta?: { driverAdapterError?: { cause?: DriverCause } } })?.meta;
  return meta?.driverAdapterError?.cause;
}

function prismaCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The name of the violated unique index (e.g. "instrument_isin_key"), or null when it is not a unique violation. */
export function uniqueViolation(error: unknown): string | null {
  const cause = driverCause(error);
  if (prismaCode(error) === 'P2002' || cause?.originalCode === '23505' || prismaCode(error) === '23505') {
    return cause?.constraint?.index ?? (error as { constraint?: string }).constraint ?? 'unique key';
  }
  return null;
}

/** The violated foreign key's name, or null. */
export function foreignKeyViolation(error: unknown): string | null {
  const cause = driverCause(error);
  if (prismaCode(error) === 'P2003' || cause?.originalCode === '23503') return cause?.constraint?.index ?? 'foreign key';
  return null;
}

/** True when an update or delete found no row (P2025). */
export function recordNotFound(error: unknown): boolean {
  return prismaCode(error) === 'P2025';
}

/** One unique index of a table and the input field whose value collided. */
export interface UniqueRule {
  index: string;
  columns: readonly string[];
  field: string;
}

interface ConstraintInfo {
  index?: string;
  fields?: string[];
  message?: string;
}

// The adapters describe the violated constraint differently: node-postgres
// gives the index name, PGlite the column list; the message names the index on both.
function constraintInfo(error: unknown): ConstraintInfo {
  const cause = (error as { meta?: { driverAdapterError?: { cause?: Record<string, unknown> } } })?.meta?.driverAdapterError?.cause;
  const constraint = cause?.constraint as { index?: string; fields?: string[] } | undefined;
  const target = (error as { meta?: { target?: unknown } })?.meta?.target;
  return {
    index: constraint?.index,
    fields: constraint?.fields ?? (Array.isArray(target) ? (target as string[]) : undefined),
    message: typeof cause?.originalMessage === 'string' ? cause.originalMessage : undefined,
  };
}

function matchingRule(error: unknown, rules: readonly UniqueRule[]): UniqueRule | undefined {
  const info = constraintInfo(error);
  const sameColumns = (columns: readonly string[]) =>
    info.fields !== undefined && info.fields.length === columns.length && columns.every((c) => info.fields!.includes(c));
  return rules.find((rule) => rule.index === info.index || sameColumns(rule.columns) || info.message?.includes(`"${rule.index}"`));
}

/** Runs fn; a unique violation becomes CONFLICT naming the input field of the violated index. */
export async function withConflicts<T>(rules: readonly UniqueRule[], what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (uniqueViolation(error) === null) throw error;
    const rule = matchingRule(error, rules);
    const field = rule?.field ?? 'input';
    throw new DomainError('CONFLICT', `another ${what} already has this ${field.replace(/^input\./, '')}`, field);
  }
}
