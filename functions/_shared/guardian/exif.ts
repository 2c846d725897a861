/**
 * What a photo's EXIF says about where, when and with what it was taken, and the free text it
 * carries. Every value is the photo's own claim: the rules weigh it, never trust it.
 */
import exifr from 'exifr';

export interface PhotoExif {
  lat: number | null;
  lng: number | null;
  /** DateTimeOriginal, shifted to UTC by OffsetTimeOriginal when there is one. */
  takenAt: Date | null;
  /** Whether DateTimeOriginal came with its time zone. */
  zoned: boolean;
  /** GPSDateStamp + GPSTimeStamp: the satellites' clock, always UTC. */
  gpsTime: Date | null;
  /** DateTimeOriginal and ModifyDate as written (a photo straight from a camera has them equal). */
  capturedStamp: string | null;
  modifiedStamp: string | null;
  make: string | null;
  model: string | null;
  software: string | null;
  /** Free-text fields (ImageDescription, UserComment, XPComment, Artist, Copyright) that hold text. */
  texts: { field: string; text: string }[];
}

interface RawExif {
  latitude?: number;
  longitude?: number;
  DateTimeOriginal?: string;
  OffsetTimeOriginal?: string;
  ModifyDate?: string;
  GPSDateStamp?: string;
  GPSTimeStamp?: number[];
  Make?: string;
  Model?: string;
  Software?: string;
  ImageDescription?: string;
  userComment?: string | Uint8Array;
  XPComment?: number[] | Uint8Array | string;
  Artist?: string;
  Copyright?: string;
}

const STAMP = /^(\d{4}):(\d\d):(\d\d) (\d\d):(\d\d):(\d\d)/;
const OFFSET = /^([+-])(\d\d):(\d\d)$/;

const text = (value: unknown): string | null => {
  if (typeof value !== 'string') return null;
  // deno-lint-ignore no-control-regex
  const cleaned = value.replace(/\u0000+$/g, '').trim();
  return cleaned.length > 0 ? cleaned : null;
};

/** UserComment starts with an 8-byte character code (ASCII, UNICODE, JIS or undefined). */
function userComment(value: string | Uint8Array | undefined): string | null {
  if (value === undefined) return null;
  const bytes = typeof value === 'string' ? Uint8Array.from(value, (c) => c.charCodeAt(0) & 0xff) : value;
  const code = String.fromCharCode(...bytes.subarray(0, 8));
  const body = bytes.subarray(8);
  if (code.startsWith('UNICODE')) {
    // Big-endian unless a byte-order mark or the layout of ASCII text says otherwise.
    const littleEndian = body[0] === 0xff || (body.length > 1 && body[0] !== 0 && body[1] === 0);
    return text(new TextDecoder(littleEndian ? 'utf-16le' : 'utf-16be').decode(body));
  }
  return text(new TextDecoder().decode(/^(ASCII|JIS|\0)/.test(code) ? body : bytes));
}

function xpComment(value: RawExif['XPComment']): string | null {
  if (value === undefined) return null;
  if (typeof value === 'string') return text(value);
  return text(new TextDecoder('utf-16le').decode(Uint8Array.from(value)));
}

function parseStamp(stamp: string | null, offset: string | null): Date | null {
  const match = stamp ? STAMP.exec(stamp) : null;
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match.map(Number);
  const asUtc = Date.UTC(y, mo - 1, d, h, mi, s);
  const zone = offset ? OFFSET.exec(offset) : null;
  const shift = zone ? (zone[1] === '-' ? -1 : 1) * (Number(zone[2]) * 60 + Number(zone[3])) * 60_000 : 0;
  return Number.isFinite(asUtc) ? new Date(asUtc - shift) : null;
}

function parseGpsTime(date: string | undefined, time: number[] | undefined): Date | null {
  const day = /^(\d{4}):(\d\d):(\d\d)$/.exec(String(date ?? '').trim());
  if (!day || !Array.isArray(time) || time.length !== 3 || !time.every(Number.isFinite)) return null;
  const [h, m, s] = time;
  const at = Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3]), 0, 0, 0) + ((h * 60 + m) * 60 + s) * 1000;
  return Number.isFinite(at) ? new Date(at) : null;
}

/** The photo's EXIF, or null when it carries none (or it cannot be parsed). */
export async function readExif(bytes: Uint8Array): Promise<PhotoExif | null> {
  let exif: RawExif | undefined;
  try {
    exif = await exifr.parse(bytes, {
      tiff: true, ifd0: true, exif: true, gps: true, xmp: false, icc: false, iptc: false,
      userComment: true, reviveValues: false, translateValues: false,
    } as never) as RawExif | undefined;
  } catch {
    return null;
  }
  if (!exif) return null;
  const capturedStamp = text(exif.DateTimeOriginal);
  const offset = text(exif.OffsetTimeOriginal);
  const number = (value: unknown) => typeof value === 'number' && Number.isFinite(value) ? value : null;
  const texts = [
    ['ImageDescription', text(exif.ImageDescription)],
    ['UserComment', userComment(exif.userComment)],
    ['XPComment', xpComment(exif.XPComment)],
    ['Artist', text(exif.Artist)],
    ['Copyright', text(exif.Copyright)],
  ].filter((entry): entry is [string, string] => entry[1] !== null).map(([field, value]) => ({ field, text: value }));
  return {
    lat: number(exif.latitude),
    lng: number(exif.longitude),
    takenAt: parseStamp(capturedStamp, offset),
    zoned: offset !== null && OFFSET.test(offset),
    gpsTime: parseGpsTime(exif.GPSDateStamp, exif.GPSTimeStamp),
    capturedStamp,
    modifiedStamp: text(exif.ModifyDate),
    make: text(exif.Make),
    model: text(exif.Model),
    software: text(exif.Software),
    texts,
  };
}
