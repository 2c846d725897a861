#!/usr/bin/env node
// Makes docs/sign.jpg, the walk-through's sample proof photo: a drawn storefront sign (nothing
// downloaded) whose EXIF GPS puts it at the walk-through task's place, 123 Main St, NY
// (40.7128, -74.006). It carries no capture time on purpose: the Guardian compares a capture time
// with when the task was held, and a committed photo was taken long before any task.
// Regenerate with `node scripts/sample-photo.mjs` (jpeg-js and piexifjs are dev dependencies).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import piexif from 'piexifjs';

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

const base = Buffer.from(jpeg.encode({ data: pixels, width: WIDTH, height: HEIGHT }, 85).data).toString('binary');
const gps = {
  [piexif.GPSIFD.GPSLatitudeRef]: 'N',
  [piexif.GPSIFD.GPSLatitude]: piexif.GPSHelper.degToDmsRational(40.7128),
  [piexif.GPSIFD.GPSLongitudeRef]: 'W',
  [piexif.GPSIFD.GPSLongitude]: piexif.GPSHelper.degToDmsRational(74.006),
};
const exif = piexif.dump({ '0th': { [piexif.ImageIFD.ImageDescription]: 'HumanOps sample proof photo (generated)' }, Exif: {}, GPS: gps });
const out = fileURLToPath(new URL('../docs/sign.jpg', import.meta.url));
writeFileSync(out, Buffer.from(piexif.insert(exif, base), 'binary'));
process.stdout.write(`wrote ${out}\n`);
