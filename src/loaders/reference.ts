// Per-request loaders of reference data, instruments and ratings (being implemented).
import type { Prisma } from '../db/database';

export function referenceLoaders(_prisma: Prisma) {
  return {};
}
