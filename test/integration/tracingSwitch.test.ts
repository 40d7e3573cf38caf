// src/tracing.ts, the first import of src/main.ts: without
// OTEL_EXPORTER_OTLP_ENDPOINT not one module of OpenTelemetry is loaded (so
// nothing is patched and requests pay nothing); with it, the SDK starts and
// patches the modules that load after it. Each case in a fresh Node process
// (`node --import tsx`, as npm start runs), since loading is per process.
// The traces themselves: test/faults/traces.test.ts.
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');

/** Loads src/tracing.ts then `pg` in a new process; reports what was loaded and whether pg's Client is patched. */
function probe(env: Record<string, string>): Promise<{ otelModules: number; sdkRunning: boolean; pgPatched: boolean }> {
  const script = `
    const { tracing } = require('./src/tracing.ts');
    const pg = require('pg');
    const otelModules = Object.keys(require.cache).filter((path) => path.includes('/@opentelemetry/')).length;
    // The instrumentation wraps Client.prototype.query (shimmer marks a wrapped function).
    const pgPatched = Boolean(pg.Client.prototype.query.__wrapped);
    console.log(JSON.stringify({ otelModules, sdkRunning: tracing !== null, pgPatched }));
    process.exit(0);`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1)!));
    });
  });
}

it('loads nothing of OpenTelemetry without OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
  expect(await probe({})).toEqual({ otelModules: 0, sdkRunning: false, pgPatched: false });
  expect(await probe({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toEqual({ otelModules: 0, sdkRunning: false, pgPatched: false });
});

it('starts the SDK and instruments what loads after it when OTEL_EXPORTER_OTLP_ENDPOINT is set', async () => {
  const on = await probe({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
  expect(on.sdkRunning).toBe(true);
  expect(on.pgPatched).toBe(true);
  expect(on.otelModules).toBeGreaterThan(0);
});
