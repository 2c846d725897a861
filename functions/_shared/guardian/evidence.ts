/**
 * Hard evidence for a photo of a physical task: every photo must say where it was taken (EXIF GPS,
 * within the task's radius) and when (inside the time the task was held). Evidence that is missing
 * never approves: the proof goes to the agent's review. Evidence that contradicts the task refutes it.
 */
import { findings, outcome, photo } from './outcome.ts';
import type { PhotoFacts } from './photos.ts';
import type { GuardianTask, RuleCheck } from './types.ts';

/** The satellites' clock is UTC and so is a zoned capture time: a few minutes cover clock drift. */
const EXACT_SLACK_MS = 5 * 60_000;
/** Without a time zone the camera's clock could be anywhere from UTC−12 to UTC+14. */
const UNZONED_SLACK_MS = 14 * 3_600_000;

export function distanceKm(lat1: number, lng1: number, lat2: number, lng2: number): number {
  const rad = Math.PI / 180;
  const a = Math.sin(((lat2 - lat1) * rad) / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lng2 - lng1) * rad) / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(a));
}

const distance = (km: number) => km < 1 ? `${Math.round(km * 1000)} m` : `${Number(km.toFixed(2))} km`;

/**
 * `limitKm` is the Guardian's radius: a photo beyond it refutes the proof. A task may ask for less
 * (its `maxDistanceM`): a photo between the two is not proof of the place the agent asked for, but
 * not a contradiction of the task either, so a person decides.
 */
export function placeCheck(task: GuardianTask, photos: PhotoFacts[], limitKm: number): RuleCheck {
  const { lat, lng } = task.location!;
  const askedKm = task.maxDistanceM !== null && task.maxDistanceM / 1000 < limitKm ? task.maxDistanceM / 1000 : null;
  const found = findings();
  for (const p of photos) {
    if (p.exif?.lat == null || p.exif?.lng == null) {
      found.doubtful.push(`${photo(p.number)} carries no GPS position, so where it was taken cannot be checked`);
      continue;
    }
    const km = distanceKm(lat, lng, p.exif.lat, p.exif.lng);
    if (km > limitKm) found.refuting.push(`${photo(p.number)} was taken ${distance(km)} from the task location (limit ${distance(limitKm)})`);
    else if (askedKm !== null && km > askedKm) {
      found.doubtful.push(`${photo(p.number)} was taken ${distance(km)} from the task location; the agent asked for photos within ${distance(askedKm)}`);
    }
  }
  return outcome('gps_location', found, `All ${photos.length} photo(s) were taken within ${distance(askedKm ?? limitKm)} of the task location`);
}

/** When a photo was taken: the GPS time (UTC) when it carries one, else DateTimeOriginal. */
export function captureTime(p: PhotoFacts): { at: Date; slackMs: number; source: string } | null {
  if (p.exif?.gpsTime) return { at: p.exif.gpsTime, slackMs: EXACT_SLACK_MS, source: 'GPS time' };
  if (p.exif?.takenAt) return { at: p.exif.takenAt, slackMs: p.exif.zoned ? EXACT_SLACK_MS : UNZONED_SLACK_MS, source: 'capture time' };
  return null;
}

/** `required`: a photo without a capture time goes to review (physical tasks); else it is skipped. */
export function timeCheck(task: GuardianTask, photos: PhotoFacts[], required: boolean): RuleCheck | null {
  const found = findings();
  const timed = photos.filter((p) => captureTime(p));
  if (!required && timed.length === 0) return null;
  for (const p of photos) {
    const taken = captureTime(p);
    if (!taken) {
      if (required) found.doubtful.push(`${photo(p.number)} carries no capture time, so when it was taken cannot be checked`);
      continue;
    }
    const at = taken.at.getTime();
    const from = task.acceptedAt!.getTime() - taken.slackMs;
    const until = task.submittedAt.getTime() + taken.slackMs;
    if (at < from || at > until) {
      found.refuting.push(`${photo(p.number)} was taken at ${taken.at.toISOString()} (its ${taken.source}), outside the time the task was held`);
    }
  }
  return outcome('capture_time', found, `All ${timed.length} photo(s) with a capture time were taken between acceptance and submission`);
}
