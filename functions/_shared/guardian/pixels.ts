/**
 * What the Guardian reads from a photo's pixels, on the one-eighth luma grid of jpeg-luma.ts:
 * a difference hash (dHash) to recognise a resized or re-encoded copy of an earlier proof, and the
 * spread of brightness to recognise an image with nothing in it.
 *
 * dHash: the grid is averaged down to 9×8 cells; bit i is set when cell i is brighter than its right
 * neighbour (row by row, most significant bit first). Copies that were resized, recompressed or
 * lightly recoloured keep almost every bit; unrelated photos differ in about half of the 64.
 */
import type { Luma } from './jpeg-luma.ts';

/** Box-averages the grid down to `columns` × `rows` cells. */
function shrink(luma: Luma, columns: number, rows: number): Float64Array {
  const out = new Float64Array(columns * rows);
  const counts = new Float64Array(columns * rows);
  for (let y = 0; y < luma.height; y++) {
    const row = Math.min(rows - 1, Math.floor((y * rows) / luma.height));
    for (let x = 0; x < luma.width; x++) {
      const cell = row * columns + Math.min(columns - 1, Math.floor((x * columns) / luma.width));
      out[cell] += luma.data[y * luma.width + x];
      counts[cell] += 1;
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = counts[i] ? out[i] / counts[i] : 0;
  return out;
}

/** The 64-bit difference hash, as 16 hex digits. */
export function differenceHash(luma: Luma): string {
  const cells = shrink(luma, 9, 8);
  let hash = 0n;
  for (let row = 0; row < 8; row++) {
    for (let column = 0; column < 8; column++) {
      hash = (hash << 1n) | (cells[row * 9 + column] > cells[row * 9 + column + 1] ? 1n : 0n);
    }
  }
  return hash.toString(16).padStart(16, '0');
}

/** How many of the 64 bits two hashes differ in. */
export function hammingDistance(a: string, b: string): number {
  let x = BigInt(`0x${a}`) ^ BigInt(`0x${b}`);
  let count = 0;
  while (x) {
    count += Number(x & 1n);
    x >>= 1n;
  }
  return count;
}

/** The standard deviation of brightness (0–255) over a 32×32 grid of the image. */
export function brightnessSpread(luma: Luma): number {
  const cells = shrink(luma, Math.min(32, luma.width), Math.min(32, luma.height));
  const mean = cells.reduce((a, b) => a + b, 0) / cells.length;
  return Math.sqrt(cells.reduce((a, b) => a + (b - mean) ** 2, 0) / cells.length);
}
