// The walk-throughs' sample photo looks to the app as a phone's photo does: the app's own warnings
// (no GPS, no capture time, too far from the task) do not fire on our example.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readFacts, warningsFor } from '../app/src/exif.ts';
import { distanceKm } from '../app/src/format.ts';

const TASK = { lat: 40.7128, lng: -74.006 };

describe('docs/sign.jpg, the walk-through\'s sample photo', () => {
  const file = new Blob([readFileSync(new URL('../docs/sign.jpg', import.meta.url))], { type: 'image/jpeg' });

  it('raises none of the app\'s warnings for the walk-through task', async () => {
    const facts = await readFacts(file);
    expect(facts.takenAt).toEqual(expect.any(Date));
    expect(warningsFor(facts, TASK)).toEqual([]);
    expect(warningsFor(facts, TASK, new Date(facts.takenAt!.getTime() + 3_600_000).toISOString())).toEqual([]);
  });

  it('is flagged as too early for a task accepted days after it was taken (the Guardian refuses such a photo)', async () => {
    const facts = await readFacts(file);
    const accepted = new Date(facts.takenAt!.getTime() + 3 * 86_400_000).toISOString();
    expect(warningsFor(facts, TASK, accepted)).toEqual(['This photo was taken before you accepted the task, so it will be refused. Take a new one at the place.']);
  });

  it('carries a camera and a GPS point near the task but not on it, as a phone photo would', async () => {
    const { default: exifr } = await import('exifr');
    const data = await exifr.parse(new Uint8Array(await file.arrayBuffer()), { gps: true, exif: true });
    expect(data.Make).toBeTruthy();
    expect(data.Model).toBeTruthy();
    expect(data.GPSDateStamp).toBeTruthy();
    const metres = distanceKm(TASK, { lat: data.latitude, lng: data.longitude }) * 1000;
    expect(metres).toBeGreaterThan(5);
    expect(metres).toBeLessThan(100);
  });
});
