/**
 * A JPEG's brightness at one eighth of its size, read from the DC coefficient of each 8×8 luma
 * block: the entropy-coded data is walked once and nothing is upsampled or colour-converted. A
 * full decode of a 12 MP photo costs seconds of CPU and hundreds of megabytes, far beyond an edge
 * request; this costs a fraction of that and keeps one float per 64 pixels, which is all a
 * perceptual hash and a variance floor need.
 *
 * The same walk can also give the brightness at a larger scale (`detail`: 2, 4 or 8 samples per
 * block side, i.e. a quarter, half or the full size), for reading the text in a photo: it keeps only
 * the low-frequency coefficients of each block and inverse-transforms them onto that smaller grid,
 * as libjpeg's scaled decoding does. That needs every coefficient in one scan, so it is not done for
 * progressive JPEGs (their AC coefficients come in later scans).
 *
 * Baseline and extended sequential (SOF0/SOF1) and progressive (SOF2, whose first DC scan is
 * enough for the block means) Huffman-coded JPEGs are read; anything else (arithmetic coding,
 * lossless, 12-bit samples, a malformed stream) gives null.
 */

export interface Luma {
  /** Samples across and down (for block means: the image's width and height divided by 8, rounded up). */
  width: number;
  height: number;
  /** Brightness of each sample, 0–255, row by row. */
  data: Float32Array;
}

/** One walk's result: the block means, and the picture at `detail`/8 of the size when it was asked for and could be read. */
export interface LumaRead {
  blocks: Luma;
  picture: Luma | null;
}

/** Samples per block side of a scaled read: 1 (block means only), 2, 4 or 8 (full size). */
export type Detail = 1 | 2 | 4 | 8;

/** Above this many luma blocks (≈ 128 megapixels) the image is not examined. */
const MAX_BLOCKS = 2_000_000;

interface Component {
  id: number;
  h: number;
  v: number;
  quant: number;
}

/** Zigzag order: the natural (row · 8 + column) position of the k-th coefficient in the stream. */
const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/**
 * The N-point inverse DCT basis for a block scaled to N×N samples: each sample is the block's
 * continuous reconstruction at its centre, from the N×N lowest frequencies. basis[x · N + u] =
 * C(u)/2 · cos((2x + 1)uπ / 2N), with C(0) = 1/√2, so a block with only its DC has the mean DC/8.
 */
function idctBasis(n: number): Float32Array {
  const basis = new Float32Array(n * n);
  for (let x = 0; x < n; x++) {
    for (let u = 0; u < n; u++) basis[x * n + u] = ((u === 0 ? Math.SQRT1_2 : 1) / 2) * Math.cos(((2 * x + 1) * u * Math.PI) / (2 * n));
  }
  return basis;
}

/** Writes one block's N×N samples (from its dequantised coefficients in natural order) into `out`. */
function scaledBlock(coefficients: Float32Array, n: number, basis: Float32Array, rows: Float32Array, out: Float32Array, stride: number, at: number) {
  // Rows first (over u), then columns (over v): 2N³ multiplications instead of N⁴.
  for (let v = 0; v < n; v++) {
    for (let x = 0; x < n; x++) {
      let sum = 0;
      for (let u = 0; u < n; u++) sum += basis[x * n + u] * coefficients[v * 8 + u];
      rows[v * n + x] = sum;
    }
  }
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      let sum = 128;
      for (let v = 0; v < n; v++) sum += basis[y * n + v] * rows[v * n + x];
      out[at + y * stride + x] = sum < 0 ? 0 : sum > 255 ? 255 : sum;
    }
  }
}

interface Table {
  /** Indexed by the next 16 bits: (code length << 8) | symbol, 0 when no code matches. */
  lookup: Uint32Array;
}

class Malformed extends Error {}

function buildTable(counts: Uint8Array, symbols: Uint8Array): Table {
  const lookup = new Uint32Array(1 << 16);
  let code = 0;
  let k = 0;
  for (let length = 1; length <= 16; length++) {
    for (let i = 0; i < counts[length - 1]; i++) {
      if (k >= symbols.length) throw new Malformed('Huffman table shorter than its counts');
      const first = code << (16 - length);
      const span = 1 << (16 - length);
      if (first + span > lookup.length) throw new Malformed('Huffman codes overflow');
      lookup.fill((length << 8) | symbols[k], first, first + span);
      code++;
      k++;
    }
    code <<= 1;
  }
  return { lookup };
}

/** Reads the entropy-coded bits of one scan, removing stuffed zero bytes and stopping at a marker. */
class Bits {
  private buffer = 0;
  private count = 0;
  private atMarker = false;
  constructor(private readonly bytes: Uint8Array, public position: number) {}

  private fill() {
    while (this.count <= 24) {
      let byte = 0;
      if (!this.atMarker && this.position < this.bytes.length) {
        byte = this.bytes[this.position];
        if (byte === 0xff) {
          if (this.bytes[this.position + 1] === 0x00) this.position += 2;
          else {
            this.atMarker = true;
            byte = 0;
          }
        } else this.position++;
      }
      this.buffer = ((this.buffer << 8) | byte) >>> 0;
      this.count += 8;
    }
  }

  private take(n: number): number {
    const value = (this.buffer >>> (this.count - n)) & ((1 << n) - 1);
    this.count -= n;
    this.buffer = this.count === 0 ? 0 : this.buffer & (0xffffffff >>> (32 - this.count));
    return value;
  }

  decode(table: Table): number {
    this.fill();
    const entry = table.lookup[(this.buffer >>> (this.count - 16)) & 0xffff];
    if (entry === 0) throw new Malformed('no Huffman code matches');
    this.take(entry >>> 8);
    return entry & 0xff;
  }

  /** `n` bits as a signed coefficient (the JPEG "receive and extend"). */
  signed(n: number): number {
    if (n === 0) return 0;
    if (n > 16) throw new Malformed('coefficient too long');
    this.fill();
    const value = this.take(n);
    return value < 1 << (n - 1) ? value - (1 << n) + 1 : value;
  }

  skip(n: number) {
    this.fill();
    this.take(n);
  }

  /** Drops what is buffered and steps over the next restart marker. */
  restart() {
    this.buffer = 0;
    this.count = 0;
    this.atMarker = false;
    const { bytes } = this;
    while (this.position + 1 < bytes.length && !(bytes[this.position] === 0xff && bytes[this.position + 1] >= 0xd0 && bytes[this.position + 1] <= 0xd7)) this.position++;
    this.position += 2;
  }
}

/** Where the next marker after an entropy-coded segment starts (restart markers are inside it). */
function nextMarker(bytes: Uint8Array, from: number): number {
  let p = from;
  while (p + 1 < bytes.length) {
    if (bytes[p] === 0xff) {
      const next = bytes[p + 1];
      if (next !== 0x00 && next !== 0xff && !(next >= 0xd0 && next <= 0xd7)) return p;
    }
    p++;
  }
  return bytes.length;
}

const u16 = (bytes: Uint8Array, at: number) => (bytes[at] << 8) | bytes[at + 1];

/** The picture without the padding of its edge blocks: the luma plane's size, scaled by n/8. */
function crop(picture: Float32Array, stride: number, lumaPixelsAcross: number, lumaPixelsDown: number, n: number): Luma {
  const width = Math.ceil((lumaPixelsAcross * n) / 8);
  const height = Math.ceil((lumaPixelsDown * n) / 8);
  const data = new Float32Array(width * height);
  for (let row = 0; row < height; row++) data.set(picture.subarray(row * stride, row * stride + width), row * width);
  return { width, height, data };
}

/** The block means (one eighth of the size); null when the JPEG cannot be read. */
export const jpegLuma = (bytes: Uint8Array): Luma | null => readJpegLuma(bytes, 1)?.blocks ?? null;

/** The block means and, with `detail` above 1, the picture at `detail`/8 of the size (null for a progressive JPEG). */
export function readJpegLuma(bytes: Uint8Array, detail: Detail): LumaRead | null {
  try {
    return read(bytes, detail);
  } catch (error) {
    if (error instanceof Malformed || error instanceof RangeError) return null;
    throw error;
  }
}

function read(bytes: Uint8Array, detail: Detail): LumaRead | null {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  /** Quantisation tables, in zigzag order. */
  const quant = new Map<number, Uint16Array>();
  const dcTables = new Map<number, Table>();
  const acTables = new Map<number, Table>();
  let components: Component[] = [];
  let width = 0;
  let height = 0;
  let progressive = false;
  let restartInterval = 0;
  let p = 2;

  while (p + 4 <= bytes.length) {
    if (bytes[p] !== 0xff) throw new Malformed('expected a marker');
    const marker = bytes[p + 1];
    if (marker === 0xff) {
      p++;
      continue;
    }
    if (marker === 0xd9) break;
    const length = u16(bytes, p + 2);
    const segment = p + 4;
    const end = p + 2 + length;
    if (length < 2 || end > bytes.length) throw new Malformed('segment overruns the file');

    if (marker === 0xdb) {
      for (let q = segment; q < end;) {
        const precision = bytes[q] >> 4;
        const table = new Uint16Array(64);
        for (let k = 0; k < 64; k++) table[k] = precision ? u16(bytes, q + 1 + k * 2) : bytes[q + 1 + k];
        quant.set(bytes[q] & 15, table);
        q += 1 + (precision ? 128 : 64);
      }
    } else if (marker === 0xc4) {
      for (let q = segment; q < end;) {
        const kind = bytes[q] >> 4;
        const counts = bytes.subarray(q + 1, q + 17);
        const total = counts.reduce((a, b) => a + b, 0);
        const table = buildTable(counts, bytes.subarray(q + 17, q + 17 + total));
        (kind === 0 ? dcTables : acTables).set(bytes[q] & 15, table);
        q += 17 + total;
      }
    } else if (marker === 0xdd) {
      restartInterval = u16(bytes, segment);
    } else if (marker === 0xc0 || marker === 0xc1 || marker === 0xc2) {
      if (bytes[segment] !== 8) return null;
      progressive = marker === 0xc2;
      height = u16(bytes, segment + 1);
      width = u16(bytes, segment + 3);
      const count = bytes[segment + 5];
      components = [];
      for (let i = 0; i < count; i++) {
        const at = segment + 6 + i * 3;
        components.push({ id: bytes[at], h: bytes[at + 1] >> 4, v: bytes[at + 1] & 15, quant: bytes[at + 2] });
      }
      if (!width || !height || components.length === 0 || components.some((c) => c.h < 1 || c.v < 1 || c.h > 4 || c.v > 4)) throw new Malformed('bad frame');
    } else if ((marker >= 0xc3 && marker <= 0xcf) && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return null; // lossless, hierarchical or arithmetic-coded
    } else if (marker === 0xda) {
      if (components.length === 0) throw new Malformed('scan before frame');
      const inScan = bytes[segment];
      const scan: { component: Component; dc: Table | undefined; ac: Table | undefined; luma: boolean }[] = [];
      for (let i = 0; i < inScan; i++) {
        const id = bytes[segment + 1 + i * 2];
        const tables = bytes[segment + 2 + i * 2];
        const component = components.find((c) => c.id === id);
        if (!component) throw new Malformed('scan names an unknown component');
        scan.push({ component, dc: dcTables.get(tables >> 4), ac: acTables.get(tables & 15), luma: component === components[0] });
      }
      const after = segment + 1 + inScan * 2;
      const spectralStart = bytes[after];
      const approximation = bytes[after + 2];
      const dcOnly = progressive;
      const usable = scan.some((s) => s.luma) && spectralStart === 0 && (!progressive || approximation >> 4 === 0);
      if (!usable) {
        p = nextMarker(bytes, end);
        continue;
      }
      const hMax = Math.max(...components.map((c) => c.h));
      const vMax = Math.max(...components.map((c) => c.v));
      const y = components[0];
      const lumaWidth = Math.ceil(Math.ceil((width * y.h) / hMax) / 8);
      const lumaHeight = Math.ceil(Math.ceil((height * y.v) / vMax) / 8);
      const mcusAcross = Math.ceil(width / (8 * hMax));
      const mcusDown = Math.ceil(height / (8 * vMax));
      const lumaColumns = inScan === 1 ? lumaWidth : mcusAcross * y.h;
      const lumaRows = inScan === 1 ? lumaHeight : mcusDown * y.v;
      if (lumaColumns * lumaRows > MAX_BLOCKS) return null;
      if (scan.some((s) => !s.dc || (!dcOnly && !s.ac))) throw new Malformed('scan uses a missing Huffman table');
      const shift = progressive ? approximation & 15 : 0;
      const luma = new Float32Array(lumaColumns * lumaRows);
      const bits = new Bits(bytes, end);
      const predictors = new Int32Array(scan.length);
      const lumaQuant = quant.get(y.quant);
      if (lumaQuant === undefined) throw new Malformed('missing quantisation table');

      // The scaled picture: n samples per block side, from the n×n lowest frequencies of each block.
      const n = progressive ? 1 : detail;
      const stride = lumaColumns * n;
      const picture = n > 1 ? new Float32Array(stride * lumaRows * n) : null;
      const basis = idctBasis(n);
      const rows = new Float32Array(n * n);
      const coefficients = new Float32Array(64);
      const kept = ZIGZAG.map((position) => (position >> 3) < n && (position & 7) < n);

      const block = (s: number, row: number, column: number) => {
        const entry = scan[s];
        const size = bits.decode(entry.dc!);
        predictors[s] += bits.signed(size);
        if (entry.luma) luma[row * lumaColumns + column] = predictors[s] << shift;
        if (dcOnly) return;
        const keep = picture !== null && entry.luma;
        if (keep) {
          coefficients.fill(0);
          coefficients[0] = predictors[s] * lumaQuant[0];
        }
        for (let k = 1; k < 64;) {
          const rs = bits.decode(entry.ac!);
          const run = rs >> 4;
          const size = rs & 15;
          if (size === 0) {
            if (run !== 15) break;
            k += 16;
            continue;
          }
          k += run;
          if (keep && k < 64 && kept[k]) coefficients[ZIGZAG[k]] = bits.signed(size) * lumaQuant[k];
          else bits.skip(size);
          k++;
        }
        if (keep) scaledBlock(coefficients, n, basis, rows, picture, stride, row * n * stride + column * n);
      };

      const units = inScan === 1
        ? Math.ceil(Math.ceil((width * scan[0].component.h) / hMax) / 8) * Math.ceil(Math.ceil((height * scan[0].component.v) / vMax) / 8)
        : mcusAcross * mcusDown;
      const unitsAcross = inScan === 1 ? Math.ceil(Math.ceil((width * scan[0].component.h) / hMax) / 8) : mcusAcross;
      for (let unit = 0; unit < units; unit++) {
        if (restartInterval && unit > 0 && unit % restartInterval === 0) {
          bits.restart();
          predictors.fill(0);
        }
        const unitRow = Math.floor(unit / unitsAcross);
        const unitColumn = unit % unitsAcross;
        if (inScan === 1) block(0, unitRow, unitColumn);
        else {
          for (let s = 0; s < scan.length; s++) {
            const { h, v } = scan[s].component;
            for (let dv = 0; dv < v; dv++) for (let dh = 0; dh < h; dh++) block(s, unitRow * v + dv, unitColumn * h + dh);
          }
        }
      }
      // Dequantise the DC and turn it into the block's mean sample: DC·Q/8 + 128.
      const q = lumaQuant[0];
      const out = new Float32Array(lumaWidth * lumaHeight);
      for (let row = 0; row < lumaHeight; row++) {
        for (let column = 0; column < lumaWidth; column++) {
          const value = (luma[row * lumaColumns + column] * q) / 8 + 128;
          out[row * lumaWidth + column] = value < 0 ? 0 : value > 255 ? 255 : value;
        }
      }
      return { blocks: { width: lumaWidth, height: lumaHeight, data: out }, picture: picture && crop(picture, stride, Math.ceil((width * y.h) / hMax), Math.ceil((height * y.v) / vMax), n) };
    }
    p = end;
  }
  return null;
}
