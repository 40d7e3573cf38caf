// Prisma 7 configuration: where the schema and migrations live, and the
// datasource URL for the Prisma CLI (`prisma migrate deploy` on a connected
// machine). The service itself never reads this file: it builds its client
// through a driver adapter (src/db/client.ts).
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? '' },
});
