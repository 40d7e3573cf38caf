// Throughput at a fixed concurrency: autocannon in a child process (see
// loadChild.ts) against a running server, over a weighted list of request
// bodies that every connection cycles through.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface LoadSpec {
  url: string;
  bodies: string[];
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
}

export interface LoadResult {
  connections: number;
  durationSeconds: number;
  requests: number;
  requestsPerSecond: number;
  latency: { p50: number; p90: number; p97_5: number; p99: number; mean: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Responses with HTTP 200 but GraphQL errors (or no data). */
  mismatches: number;
  /** Up to five distinct error messages seen in the timed run. */
  errorSamples?: string[];
}

/** autocannon's `errors` already include its timeouts. */
export const totalErrors = (r: LoadResult) => r.non2xx + r.errors + r.mismatches;

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, join(__dirname, 'loadChild.ts'), JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop();
      if (code !== 0 || !line) return reject(new Error(`load generator exited with ${code}: ${err.slice(-500)}`));
      try {
        resolve(JSON.parse(line) as LoadResult);
      } catch (error) {
        reject(error);
      }
    });
  });
}
