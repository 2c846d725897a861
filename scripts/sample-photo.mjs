#!/usr/bin/env node
// The walk-throughs' sample proof photo: a drawn storefront sign (nothing downloaded) that carries
// what a phone's camera writes, so neither the app nor the Guardian doubts it for want of it: a
// camera Make and Model, a capture time (DateTimeOriginal with its zone, and the GPS clock's UTC
// time, the same instant), and an EXIF GPS position about 15 m from the walk-through task's place,
// 123 Main St, NY (40.7128, -74.006) — near it, not on it to the millionth of a degree, as a real
// photo would be.
//
//   node scripts/sample-photo.mjs            rewrites docs/sign.jpg, taken at its fixed time below
//   npm run -s sample-photo -- sign.jpg      writes sign.jpg taken now: the photo to submit
//
// The Guardian compares a capture time with when the task was held, so a photo to submit must be
// taken after the task was accepted: docs/sign.jpg (taken long before) shows what the file holds.
// jpeg-js and piexifjs are dev dependencies.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import piexif from 'piexifjs';

const DOCS_TAKEN_AT = new Date('2026-12-07T15:00:00Z');
const PLACE = { lat: 40.71291, lng: -74.00587 };

const WIDTH = 320;
const HEIGHT = 200;
const pixels = Buffer.alloc(WIDTH * HEIGHT * 4);
const paint = (x0, y0, x1, y1, [r, g, b]) => {
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) pixels.set([r, g, b, 255], (y * WIDTH + x) * 4);
  }
};
paint(0, 0, WIDTH, HEIGHT, [170, 200, 230]); // sky
paint(0, 120, WIDTH, HEIGHT, [120, 110, 100]); // storefront
paint(30, 40, 290, 110, [30, 60, 40]); // the sign board
paint(45, 60, 275, 70, [235, 220, 160]); // lettering, roughly
paint(45, 80, 200, 90, [235, 220, 160]);
paint(140, 140, 180, HEIGHT, [60, 40, 30]); // the door

// piexifjs predates EXIF 2.31: teach it OffsetTimeOriginal, the capture time's zone.
piexif.TAGS.Exif[0x9011] ??= { name: 'OffsetTimeOriginal', type: 'Ascii' };

/** "YYYY:MM:DD HH:MM:SS", EXIF's way of writing a time (here in UTC). */
const exifTime = (at) => at.toISOString().replace('T', ' ').slice(0, 19).replace(/-/g, ':');

export function samplePhoto(takenAt) {
  const base = Buffer.from(jpeg.encode({ data: pixels, width: WIDTH, height: HEIGHT }, 85).data).toString('binary');
  const taken = exifTime(takenAt);
  const [day, time] = taken.split(' ');
  const exif = piexif.dump({
    '0th': {
      [piexif.ImageIFD.Make]: 'HumanOps',
      [piexif.ImageIFD.Model]: 'Sample camera (generated)',
      [piexif.ImageIFD.ImageDescription]: 'HumanOps sample proof photo (generated)',
      [piexif.ImageIFD.DateTime]: taken,
    },
    Exif: { [piexif.ExifIFD.DateTimeOriginal]: taken, 0x9011: '+00:00' },
    GPS: {
      [piexif.GPSIFD.GPSLatitudeRef]: 'N',
      [piexif.GPSIFD.GPSLatitude]: piexif.GPSHelper.degToDmsRational(PLACE.lat),
      [piexif.GPSIFD.GPSLongitudeRef]: 'W',
      [piexif.GPSIFD.GPSLongitude]: piexif.GPSHelper.degToDmsRational(-PLACE.lng),
      [piexif.GPSIFD.GPSDateStamp]: day,
      [piexif.GPSIFD.GPSTimeStamp]: time.split(':').map((n) => [Number(n), 1]),
    },
  });
  return Buffer.from(piexif.insert(exif, base), 'binary');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [target] = process.argv.slice(2);
  const out = target ? resolve(target) : fileURLToPath(new URL('../docs/sign.jpg', import.meta.url));
  writeFileSync(out, samplePhoto(target ? new Date() : DOCS_TAKEN_AT));
  process.stdout.write(`wrote ${out}\n`);
}
