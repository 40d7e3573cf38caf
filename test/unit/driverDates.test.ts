// dateOf reads a DATE's text digit by digit: it must give exactly what the ISO parser gives
// (UTC midnight) for every form PostgreSQL writes, and fall back to it for the others.
import { dateOf } from '../../src/db/driverRows';

const iso = (text: string) => new Date(`${text}T00:00:00.000Z`);

describe('dateOf', () => {
  it('is UTC midnight of the date for every day of a range of years, leap days included', () => {
    let checked = 0;
    for (let ms = Date.UTC(1899, 0, 1); ms <= Date.UTC(2101, 11, 31); ms += 86_400_000 * 3 + 3_600_000) {
      const text = new Date(ms).toISOString().slice(0, 10);
      expect(dateOf(text).getTime()).toBe(iso(text).getTime());
      checked++;
    }
    for (const text of ['2024-02-29', '2000-02-29', '1900-03-01', '2026-12-31', '2027-01-01', '1970-01-01', '9999-12-31', '1000-01-01']) {
      expect(dateOf(text).toISOString()).toBe(`${text}T00:00:00.000Z`);
    }
    expect(checked).toBeGreaterThan(20_000);
  });

  it('takes the ISO parser for years before 1000 and forms other than YYYY-MM-DD', () => {
    // Date.UTC would read year 0099 as 1999.
    expect(dateOf('0099-05-01').toISOString()).toBe('0099-05-01T00:00:00.000Z');
    expect(dateOf('0999-12-31').getTime()).toBe(iso('0999-12-31').getTime());
    expect(Number.isNaN(dateOf('infinity').getTime())).toBe(true);
    expect(Number.isNaN(dateOf('2026-1-01').getTime())).toBe(true);
  });
});
