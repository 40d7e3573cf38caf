// Positions and their valuations, generated holder by holder from an RNG
// stream of their own, so the result does not depend on the chunk size and
// memory stays bounded by one chunk. Amounts are exact: integers scaled with
// decimal.js, never floats.
import Decimal from 'decimal.js';
import { Rng } from './random';
import type { Holder, InstrumentRow, World } from './world';

export interface PositionRow {
  id: string;
  portfolio_node_id: string;
  instrument_id: string;
  quantity: string;
  base_ccy: string;
  status: 'ACTIVE' | 'CLOSED' | 'DELETED';
  /** Trade date: the first valuation date (or the first of the period for a position never valued). */
  opened_on: string;
  /** CLOSED: the day after the last valuation. */
  closed_on: string | null;
  state_from: string;
}

export interface ValuationRow {
  id: string;
  position_id: string;
  as_of_date: string;
  /** The next valuation's date (null for the latest), as the database's triggers would set it. */
  valid_to: string | null;
  market_value: string;
  currency: string;
}

export interface PositionChunk {
  positions: PositionRow[];
  valuations: ValuationRow[];
}

function quantityFor(rng: Rng, instrument: InstrumentRow): Decimal {
  switch (instrument.asset_class) {
    case 'EQUITY':
      return new Decimal(rng.int(100, 250_000));
    case 'CDS':
      return new Decimal(rng.int(1, 100) * 100_000);
    case 'CASH':
      return new Decimal(rng.int(1_000_000, 500_000_000)).div(100);
    default:
      return new Decimal(rng.int(1, 500) * 10_000);
  }
}

/** Price per unit in the convention of the asset class, in integer hundredths. */
function initialPrice(rng: Rng, instrument: InstrumentRow): number {
  switch (instrument.asset_class) {
    case 'EQUITY':
      return rng.int(500, 50_000);
    case 'CDS':
      return rng.int(-500, 500); // upfront in hundredths of a point
    case 'CASH':
      return 100;
    default:
      return rng.int(8_000, 11_000);
  }
}

function nextPrice(rng: Rng, instrument: InstrumentRow, price: number): number {
  switch (instrument.asset_class) {
    case 'CASH':
      return price;
    case 'EQUITY':
      return Math.max(1, Math.round(price * (1 + rng.int(-60, 60) / 1000)));
    case 'CDS':
      return price + rng.int(-40, 40);
    default:
      return Math.max(100, price + rng.int(-150, 150));
  }
}

function marketValue(instrument: InstrumentRow, quantity: Decimal, price: number): string {
  const p = new Decimal(price).div(100);
  // Bonds, loans and CDS are quoted per 100 of face; equities per share; cash at par.
  const value = instrument.asset_class === 'EQUITY' || instrument.asset_class === 'CASH' ? quantity.mul(p) : quantity.mul(p).div(100);
  return value.toDecimalPlaces(2).toFixed(2);
}

function holderPositions(world: World, holder: Holder, out: PositionChunk): void {
  const rng = Rng.derive(world.options.seed, holder.index);
  const { instruments, valuationDates } = world;
  const used = new Set<number>();
  for (let k = 0; k < holder.positionCount; k++) {
    let index = rng.skewedIndex(instruments.length, 1.4);
    for (let tries = 0; used.has(index) && tries < 4; tries++) index = rng.int(0, instruments.length - 1);
    used.add(index);
    const instrument = instruments[index] as InstrumentRow;
    const quantity = quantityFor(rng, instrument);
    const u = rng.unit();
    const status = u < 0.03 ? 'CLOSED' : u < 0.05 ? 'DELETED' : 'ACTIVE';
    const position: PositionRow = {
      id: rng.uuid(), portfolio_node_id: holder.node.id, instrument_id: instrument.id,
      quantity: quantity.toFixed(), base_ccy: instrument.currency, status,
      opened_on: valuationDates[0] as string, closed_on: null, state_from: valuationDates[0] as string,
    };
    out.positions.push(position);
    if (rng.chance(0.02)) continue; // never valued: counted as unvalued, not as zero
    const first = rng.chance(0.9) ? 0 : rng.int(1, valuationDates.length - 1);
    const last = status === 'CLOSED' ? rng.int(first, valuationDates.length - 1) : valuationDates.length - 1;
    position.opened_on = valuationDates[first] as string;
    position.closed_on = status === 'CLOSED' ? nextDay(valuationDates[last] as string) : null;
    position.state_from = position.closed_on ?? position.opened_on;
    let price = initialPrice(rng, instrument);
    for (let d = first; d <= last; d++) {
      out.valuations.push({
        id: rng.uuid(), position_id: position.id, as_of_date: valuationDates[d] as string,
        valid_to: d < last ? (valuationDates[d + 1] as string) : null,
        market_value: marketValue(instrument, quantity, price), currency: instrument.currency,
      });
      price = nextPrice(rng, instrument, price);
    }
  }
}

const nextDay = (date: string) => new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

/** Positions and valuations of every holder, in chunks of at least `chunkSize` positions. */
export function* positionChunks(world: World, chunkSize: number): Generator<PositionChunk> {
  let chunk: PositionChunk = { positions: [], valuations: [] };
  for (const holder of world.holders) {
    holderPositions(world, holder, chunk);
    if (chunk.positions.length >= chunkSize) {
      yield chunk;
      chunk = { positions: [], valuations: [] };
    }
  }
  if (chunk.positions.length > 0) yield chunk;
}
