/**
 * What a photo says about where and when it was taken, read in the browser so the operator is
 * warned before submitting a photo the Guardian would doubt. exifr loads only when a photo is added.
 */
import { GPS_RADIUS_KM } from './config.ts';
import { distanceKm } from './format.ts';

export interface PhotoFacts {
  lat?: number;
  lng?: number;
  takenAt?: Date;
}

export async function readFacts(file: Blob): Promise<PhotoFacts> {
  const { default: exifr } = await import('exifr/dist/lite.esm.mjs');
  try {
    // Bytes rather than the Blob: the lite build reads any Uint8Array, and the photo is small enough to hold.
    const data = await exifr.parse(new Uint8Array(await file.arrayBuffer()), { gps: true, exif: true });
    if (!data) return {};
    const takenAt = data.DateTimeOriginal ?? data.CreateDate;
    return {
      lat: typeof data.latitude === 'number' ? data.latitude : undefined,
      lng: typeof data.longitude === 'number' ? data.longitude : undefined,
      takenAt: takenAt instanceof Date ? takenAt : undefined,
    };
  } catch {
    return {};
  }
}

/**
 * A camera's clock without a zone may be anywhere from UTC−12 to UTC+14: only a photo taken more than
 * that before the task was accepted is surely too early.
 */
const CLOCK_SLACK_MS = 14 * 3_600_000;

/** Warnings for one photo of a task at `place`, accepted at `acceptedAt` (none when it looks right). */
export function warningsFor(facts: PhotoFacts, place: { lat: number | null; lng: number | null }, acceptedAt: string | null = null): string[] {
  const warnings: string[] = [];
  if (facts.lat === undefined || facts.lng === undefined) {
    warnings.push('This photo has no GPS location. Turn on location for your camera and take it again, or the proof may be refused.');
  } else if (place.lat !== null && place.lng !== null) {
    const away = distanceKm({ lat: facts.lat, lng: facts.lng }, { lat: place.lat, lng: place.lng });
    if (away > GPS_RADIUS_KM) warnings.push(`This photo was taken ${away.toFixed(1)} km from the task. Take it at the task's address.`);
  }
  if (!facts.takenAt) warnings.push('This photo has no capture time. Use your camera app rather than a screenshot or an edited copy.');
  else if (acceptedAt && facts.takenAt.getTime() < Date.parse(acceptedAt) - CLOCK_SLACK_MS) {
    warnings.push('This photo was taken before you accepted the task, so it will be refused. Take a new one at the place.');
  }
  return warnings;
}
