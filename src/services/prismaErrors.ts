// Prisma's errors that mean something to a caller, recognised in one place.
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
