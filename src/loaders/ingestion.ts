// Per-request loaders of the ingestion domain (being implemented).
import type { Prisma } from '../db/database';

export function ingestionLoaders(_prisma: Prisma) {
  return {};
}
