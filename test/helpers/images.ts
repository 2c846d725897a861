// Real JPEGs for tests, optionally carrying EXIF GPS and capture time.
import jpeg from 'jpeg-js';
import piexif from 'piexifjs';

export interface ExifOptions {
  lat?: number;
  lng?: number;
  /** Capture time; written as EXIF local time with the given offset (default +00:00). */
  takenAt?: Date;
  offset?: string | null;
}

// piexifjs predates EXIF 2.31: teach it OffsetTimeOriginal so capture times can carry a zone.
(piexif as unknown as { TAGS: { Exif: Record<number, { name: string; type: string }> } }).TAGS.Exif[0x9011] ??= { name: 'OffsetTimeOriginal', type: 'Ascii' };

/** A 16×16 JPEG; with EXIF when options are given (`offset: null` writes a capture time without a zone). */
export function makeJpeg(options: ExifOptions = {}): Uint8Array {
  const encoded = jpeg.encode({ data: Buffer.alloc(16 * 16 * 4, 180), width: 16, height: 16 }, 80).data;
  return withExif(Buffer.from(encoded), options);
}

/**
 * A photo-sized JPEG of noise (which compresses about as badly as a phone photo): 1600×1200 at
 * quality 91 is about 3.7 MB. Encoding takes a second or two; reuse it with withExif.
 */
export function makeLargeJpeg(quality = 91): Uint8Array {
  const width = 1600;
  const height = 1200;
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < data.length; i++) data[i] = (Math.random() * 256) | 0;
  return new Uint8Array(jpeg.encode({ data, width, height }, quality).data);
}

/** `jpegBytes` with EXIF added (none when no option is given). */
export function withExif(jpegBytes: Uint8Array, options: ExifOptions): Uint8Array {
  const base = Buffer.from(jpegBytes);
  if (options.lat === undefined && options.takenAt === undefined) return new Uint8Array(base);
  const exif: Record<string, Record<number, unknown>> = { '0th': {}, Exif: {}, GPS: {} };
  if (options.takenAt) {
    const offset = options.offset === undefined ? '+00:00' : options.offset;
    const sign = offset?.startsWith('-') ? -1 : 1;
    const [h, m] = offset ? offset.slice(1).split(':').map(Number) : [0, 0];
    const local = new Date(options.takenAt.getTime() + sign * (h * 60 + m) * 60_000);
    exif.Exif[piexif.ExifIFD.DateTimeOriginal] = local.toISOString().replace('T', ' ').slice(0, 19).replace(/-/g, ':');
    if (offset) exif.Exif[0x9011] = offset;
  }
  if (options.lat !== undefined && options.lng !== undefined) {
    exif.GPS[piexif.GPSIFD.GPSLatitudeRef] = options.lat >= 0 ? 'N' : 'S';
    exif.GPS[piexif.GPSIFD.GPSLatitude] = piexif.GPSHelper.degToDmsRational(Math.abs(options.lat));
    exif.GPS[piexif.GPSIFD.GPSLongitudeRef] = options.lng >= 0 ? 'E' : 'W';
    exif.GPS[piexif.GPSIFD.GPSLongitude] = piexif.GPSHelper.degToDmsRational(Math.abs(options.lng));
  }
  return new Uint8Array(Buffer.from(piexif.insert(piexif.dump(exif), base.toString('binary')), 'binary'));
}
