/**
 * Money crosses the API as decimal USD and lives everywhere else as integer cents.
 * Conversion is exact: anything finer than a cent, or not a plain decimal, is refused.
 */

/** Cents for a USD amount given as a JSON number or a decimal string, or null if it is not exact. */
export function usdToCents(value: number | string): number | null {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    text = String(value);
  } else {
    text = value.trim();
  }
  const match = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(text);
  if (!match) return null;
  const cents = Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
  return Number.isSafeInteger(cents) ? cents : null;
}

/** A USD number for a cents amount (postgres returns bigint as a string). */
export function centsToUsd(cents: number | string | bigint): number {
  return Number(cents) / 100;
}

/** `$1,234.50`, for messages. */
export function formatUsd(cents: number): string {
  return `$${(cents / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}
