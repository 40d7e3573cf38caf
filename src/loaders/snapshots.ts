// Per-request loaders of the snapshots domain (being implemented).
import type { Prisma } from '../db/database';

export function snapshotLoaders(_prisma: Prisma) {
  return {};
}
