// Real JPEGs for tests: a drawn scene (different for each `scene` number), optionally carrying the
// EXIF a phone writes (GPS, capture time, camera maker) or what an editor or a forger leaves.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import jpeg from 'jpeg-js';
import piexif from 'piexifjs';
import * as PImage from 'pureimage';

export interface ExifOptions {
  lat?: number;
  lng?: number;
  /** Capture time; written as EXIF local time with the given offset (default +00:00). */
  takenAt?: Date;
  offset?: string | null;
  /** GPSDateStamp/GPSTimeStamp (UTC). */
  gpsTime?: Date;
  /** Camera maker and model: written by default whenever the photo carries EXIF; null leaves them out. */
  make?: string | null;
  model?: string | null;
  software?: string;
  /** ModifyDate as written (EXIF "YYYY:MM:DD hh:mm:ss"); by default equal to DateTimeOriginal. */
  modifyDate?: string;
  description?: string;
  userComment?: string;
  width?: number;
  height?: number;
  /** Which scene to draw; 0 draws one flat colour. */
  scene?: number;
  /** Words on a light card in the scene (capitals, digits and a little punctuation; see drawCard). */
  card?: string;
  quality?: number;
}

// piexifjs predates EXIF 2.31: teach it OffsetTimeOriginal so capture times can carry a zone.
(piexif as unknown as { TAGS: { Exif: Record<number, { name: string; type: string }> } }).TAGS.Exif[0x9011] ??= { name: 'OffsetTimeOriginal', type: 'Ascii' };

const stamp = (at: Date) => at.toISOString().replace('T', ' ').slice(0, 19).replace(/-/g, ':');

/** RGBA pixels of a street-like scene: sky, a wall, a sign and a door, placed by `scene`. */
export function drawScene(width: number, height: number, scene: number): Buffer {
  const pixels = Buffer.alloc(width * height * 4, 255);
  if (scene === 0) {
    pixels.fill(0);
    for (let i = 3; i < pixels.length; i += 4) pixels[i] = 255;
    return pixels;
  }
  let seed = scene * 2654435761 >>> 0;
  const random = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const paint = (x0: number, y0: number, x1: number, y1: number, rgb: number[]) => {
    for (let y = Math.max(0, Math.floor(y0)); y < Math.min(height, y1); y++) {
      for (let x = Math.max(0, Math.floor(x0)); x < Math.min(width, x1); x++) pixels.set([...rgb, 255], (y * width + x) * 4);
    }
  };
  const colour = () => [random() * 255, random() * 255, random() * 255].map(Math.floor);
  const horizon = height * (0.2 + random() * 0.4);
  for (let y = 0; y < height; y++) {
    const shade = Math.floor(120 + (135 * y) / height);
    paint(0, y, width, y + 1, y < horizon ? [shade - 40, shade - 10, 230] : [shade - 20, shade - 30, shade - 40]);
  }
  for (let i = 0; i < 6; i++) {
    const x = random() * width;
    const y = random() * height;
    paint(x, y, x + width * (0.1 + random() * 0.4), y + height * (0.05 + random() * 0.3), colour());
  }
  return pixels;
}

// The card's words are set in DejaVu Sans Bold (from npm), as a printed sign or note would be.
const cardFont = join(dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf', 'DejaVuSans-Bold.ttf');
let fontLoaded = false;

/**
 * Draws `text` in dark print, `size` pixels high, on a light card whose top left corner is at
 * (`left`, `top`) in `pixels` (RGBA, `width` across): a sign, or a note held up to the camera.
 */
export function drawCard(pixels: Buffer, width: number, text: string, { left = 40, top = 60, size = 32 } = {}): void {
  if (!fontLoaded) {
    PImage.registerFont(cardFont, 'Card').loadSync();
    fontLoaded = true;
  }
  const margin = Math.round(size / 2);
  const measure = PImage.make(1, 1).getContext('2d');
  measure.font = `${size}px 'Card'`;
  const cardWidth = Math.ceil(measure.measureText(text).width) + 2 * margin;
  const cardHeight = Math.round(size * 1.2) + 2 * margin;
  const card = PImage.make(cardWidth, cardHeight);
  const ctx = card.getContext('2d');
  ctx.fillStyle = '#fafaf5';
  ctx.fillRect(0, 0, cardWidth, cardHeight);
  ctx.fillStyle = '#141414';
  ctx.font = `${size}px 'Card'`;
  ctx.fillText(text, margin, margin + size);
  for (let y = 0; y < cardHeight; y++) {
    const row = top + y;
    const visible = Math.min(cardWidth, width - left);
    if (visible <= 0 || row * width * 4 >= pixels.length) break;
    pixels.set(card.data.subarray(y * cardWidth * 4, (y * cardWidth + visible) * 4), (row * width + left) * 4);
  }
}

/** A JPEG (320×240 by default); with EXIF when any of its fields are given. */
export function makeJpeg(options: ExifOptions = {}): Uint8Array {
  const width = options.width ?? 320;
  const height = options.height ?? 240;
  const pixels = drawScene(width, height, options.scene ?? 1);
  if (options.card) drawCard(pixels, width, options.card, { size: Math.round(width / 20) });
  const encoded = jpeg.encode({ data: pixels, width, height }, options.quality ?? 85).data;
  return withExif(new Uint8Array(encoded), options);
}

/**
 * A photo-sized JPEG: a scene (different for each `scene` number) under heavy noise, which
 * compresses about as badly as a phone photo: 1600×1200 at quality 91 is about 3.4 MB. Encoding
 * takes a second or two; reuse it with withExif.
 */
export function makeLargeJpeg(scene = 1, quality = 91): Uint8Array {
  const width = 1600;
  const height = 1200;
  const data = drawScene(width, height, scene);
  for (let i = 0; i < data.length; i++) if (i % 4 !== 3) data[i] = (data[i] >> 3) + ((Math.random() * 224) | 0);
  return new Uint8Array(jpeg.encode({ data, width, height }, quality).data);
}

/** `bytes` (a JPEG) with the EXIF `options` describe; unchanged when they describe none. */
export function withExif(bytes: Uint8Array, options: ExifOptions): Uint8Array {
  const base = Buffer.from(bytes);
  const fields = ['lat', 'takenAt', 'gpsTime', 'make', 'software', 'modifyDate', 'description', 'userComment'] as const;
  if (!fields.some((field) => options[field] !== undefined)) return new Uint8Array(base);
  const exif: Record<string, Record<number, unknown>> = { '0th': {}, Exif: {}, GPS: {} };
  const make = options.make === undefined ? 'Google' : options.make;
  const model = options.model === undefined ? 'Pixel 8' : options.model;
  if (make) exif['0th'][piexif.ImageIFD.Make] = make;
  if (model) exif['0th'][piexif.ImageIFD.Model] = model;
  if (options.software) exif['0th'][piexif.ImageIFD.Software] = options.software;
  if (options.description) exif['0th'][piexif.ImageIFD.ImageDescription] = options.description;
  if (options.userComment) exif.Exif[piexif.ExifIFD.UserComment] = `ASCII\0\0\0${options.userComment}`;
  if (options.takenAt) {
    const offset = options.offset === undefined ? '+00:00' : options.offset;
    const sign = offset?.startsWith('-') ? -1 : 1;
    const [h, m] = offset ? offset.slice(1).split(':').map(Number) : [0, 0];
    const local = stamp(new Date(options.takenAt.getTime() + sign * (h * 60 + m) * 60_000));
    exif.Exif[piexif.ExifIFD.DateTimeOriginal] = local;
    exif['0th'][piexif.ImageIFD.DateTime] = options.modifyDate ?? local;
    if (offset) exif.Exif[0x9011] = offset;
  } else if (options.modifyDate) exif['0th'][piexif.ImageIFD.DateTime] = options.modifyDate;
  if (options.gpsTime) {
    const [day, time] = stamp(options.gpsTime).split(' ');
    exif.GPS[piexif.GPSIFD.GPSDateStamp] = day;
    exif.GPS[piexif.GPSIFD.GPSTimeStamp] = time.split(':').map((n) => [Number(n), 1]);
  }
  if (options.lat !== undefined && options.lng !== undefined) {
    exif.GPS[piexif.GPSIFD.GPSLatitudeRef] = options.lat >= 0 ? 'N' : 'S';
    exif.GPS[piexif.GPSIFD.GPSLatitude] = piexif.GPSHelper.degToDmsRational(Math.abs(options.lat));
    exif.GPS[piexif.GPSIFD.GPSLongitudeRef] = options.lng >= 0 ? 'E' : 'W';
    exif.GPS[piexif.GPSIFD.GPSLongitude] = piexif.GPSHelper.degToDmsRational(Math.abs(options.lng));
  }
  return new Uint8Array(Buffer.from(piexif.insert(piexif.dump(exif), base.toString('binary')), 'binary'));
}
