// The pure rules of read replicas: consistency tokens (WAL positions), which failures on a replica are
// run again on the primary, and DATABASE_REPLICA_URLS's configuration.
import { ConfigError, loadConfig } from '../../src/config';
import { replicaFailure } from '../../src/db/readRoute';
import { formatLsn, insertedUpTo, parseLsn } from '../../src/db/wal';

const GEOMETRY = { blockSize: 8192n, segmentSize: 16n * 1024n * 1024n };

describe('WAL positions', () => {
  it('parses and prints LSNs as PostgreSQL does, and nothing else', () => {
    expect(parseLsn('0/3016040')).toBe(0x3016040n);
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) | 0xb374d848n);
    expect(formatLsn(parseLsn('16/B374D848')!)).toBe('16/B374D848');
    expect(parseLsn('1/0')! > parseLsn('0/FFFFFFFF')!).toBe(true);
    for (const bad of ['', '0', '0/', '/1', '0/123456789', 'x/1', '0/3016040;', 42, undefined]) expect(parseLsn(bad)).toBeNull();
  });

  it('reads an insert position just past a page header as the page start (an idle primary equals a caught-up replica)', () => {
    // The first page of a segment has a long header (40 bytes), the others a short one (24).
    expect(insertedUpTo(0x3000028n, GEOMETRY)).toBe(0x3000000n);
    expect(insertedUpTo(0x3002018n, GEOMETRY)).toBe(0x3002000n);
    // Anywhere else, the position is the end of the last record.
    expect(insertedUpTo(0x3016040n, GEOMETRY)).toBe(0x3016040n);
    expect(insertedUpTo(0x3002020n, GEOMETRY)).toBe(0x3002020n);
  });
});

describe('failures on a replica', () => {
  const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

  it('runs again on the primary what the replica could not answer, and nothing else', () => {
    expect(replicaFailure(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5999'), { code: 'ECONNREFUSED' }))).toBe('unavailable');
    expect(replicaFailure(pgError('57P01', 'terminating connection due to administrator command'))).toBe('unavailable');
    expect(replicaFailure(new Error('Connection terminated unexpectedly'))).toBe('unavailable');
    expect(replicaFailure(new Error('timeout exceeded when trying to connect'))).toBe('unavailable');
    expect(replicaFailure(pgError('40001', 'canceling statement due to conflict with recovery'))).toBe('conflict');
    // Prisma's driver adapter keeps the server's code as originalCode.
    expect(replicaFailure({ meta: { driverAdapterError: { cause: { kind: 'postgres', originalCode: '40001', originalMessage: 'x' } } } })).toBe('conflict');
    // A statement that was too slow would be as slow on the primary; a bad statement is bad anywhere.
    expect(replicaFailure(pgError('57014', 'canceling statement due to statement timeout'))).toBeNull();
    expect(replicaFailure(pgError('42601', 'syntax error at or near "x"'))).toBeNull();
  });
});

describe('DATABASE_REPLICA_URLS', () => {
  const env = { DATABASE_URL: 'postgresql://app@primary/db', AUTH_MODE: 'off' };

  it('is off by default and reads its settings', () => {
    expect(loadConfig(env).replicas).toBeNull();
    expect(loadConfig({ ...env, DATABASE_REPLICA_URLS: ' postgresql://r1/db , postgres://r2/db ' }).replicas).toEqual({
      urls: ['postgresql://r1/db', 'postgres://r2/db'], maxLagMs: 5_000, checkIntervalMs: 1_000,
    });
    expect(loadConfig({ ...env, DATABASE_REPLICA_URLS: 'postgresql://r1/db', REPLICA_MAX_LAG_MS: '250' }).replicas?.maxLagMs).toBe(250);
  });

  it('refuses replicas without a primary, and what is not a PostgreSQL URL', () => {
    const fails = (over: Record<string, string>) => () => loadConfig({ AUTH_MODE: 'off', ...over });
    expect(fails({ DATABASE_REPLICA_URLS: 'postgresql://r1/db' })).toThrow(ConfigError);
    expect(fails({ ...env, DATABASE_REPLICA_URLS: 'mysql://r1/db' })).toThrow(/DATABASE_REPLICA_URLS/);
    expect(fails({ ...env, DATABASE_REPLICA_URLS: 'postgresql://r1/db', REPLICA_MAX_LAG_MS: 'soon' })).toThrow(/REPLICA_MAX_LAG_MS/);
  });
});
