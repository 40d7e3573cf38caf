// WAL positions (LSNs) of PostgreSQL: the consistency token of a mutation, and
// how far a streaming replica has replayed (src/db/replicas.ts).
//
// The token is the primary's *insert* position read after the mutation's
// commits: at or after the end of every record inserted so far, its commit
// records included. pg_current_wal_lsn() (the write position) is not enough:
// with synchronous_commit=off a commit returns before its record is written,
// and a token below the commit would let a replica answer without it.
//
// One wrinkle: when nothing has been inserted since a page boundary (an idle
// primary after a WAL switch, or a record that ended exactly at the end of a
// page), the insert position points past the new page's header, while a
// standby that replayed everything reports the boundary itself. Such a
// position is read as the boundary, so an idle replica compares equal.
import type { SqlSession } from './sql';

export type Lsn = bigint;

/** An LSN as PostgreSQL prints it ('16/B374D848'); null for anything else. */
export function parseLsn(text: unknown): Lsn | null {
  if (typeof text !== 'string') return null;
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  return match ? (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`) : null;
}

export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

// PostgreSQL's page headers on 64-bit builds: SizeOfXLogShortPHD, and SizeOfXLogLongPHD on a segment's first page.
const SHORT_PAGE_HEADER = 24n;
const LONG_PAGE_HEADER = 40n;

interface WalGeometry {
  blockSize: bigint;
  segmentSize: bigint;
}

/** An insert position as "every record inserted ends at or before": a position just past a page header is its page's start. */
export function insertedUpTo(insert: Lsn, geometry: WalGeometry): Lsn {
  if (insert % geometry.segmentSize === LONG_PAGE_HEADER) return insert - LONG_PAGE_HEADER;
  if (insert % geometry.blockSize === SHORT_PAGE_HEADER) return insert - SHORT_PAGE_HEADER;
  return insert;
}

/** The primary's WAL position, through a session that is not counted among a request's statements. */
export class PrimaryWal {
  private geometry: Promise<WalGeometry> | null = null;

  constructor(private readonly sql: SqlSession) {}

  /** The end of everything inserted into the primary's WAL so far (see the file comment). */
  async position(): Promise<Lsn> {
    this.geometry ??= this.readGeometry().catch((error: unknown) => {
      this.geometry = null;
      throw error;
    });
    const geometry = await this.geometry;
    const [row] = await this.sql.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
    const lsn = parseLsn(row?.lsn);
    if (lsn === null) throw new Error(`unexpected WAL position: ${row?.lsn}`);
    return insertedUpTo(lsn, geometry);
  }

  private async readGeometry(): Promise<WalGeometry> {
    const [row] = await this.sql.query<{ block: string; segment: string }>(
      `SELECT current_setting('wal_block_size') AS block, pg_size_bytes(current_setting('wal_segment_size'))::text AS segment`,
    );
    return { blockSize: BigInt(row!.block), segmentSize: BigInt(row!.segment) };
  }
}
