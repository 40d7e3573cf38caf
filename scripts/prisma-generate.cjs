#!/usr/bin/env node
// Generates the Prisma Client (src/generated/prisma) from prisma/schema.prisma.
// `prisma generate` never needs Prisma's native schema engine, but the CLI
// tries to download it on start-up, which fails on machines without access to
// Prisma's binary host. Pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing
// file skips that download; an operator's own setting is kept.
const { spawnSync } = require('node:child_process');

const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1' };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;
const result = spawnSync(process.execPath, [require.resolve('prisma/build/index.js'), 'generate'], {
  stdio: 'inherit',
  env,
});
process.exit(result.status ?? 1);
