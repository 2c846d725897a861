/**
 * Rule checks that need no model and always run: the files exist and are images, enough of them,
 * where and when they were taken (EXIF, when present), and that the proof is of the task's kind.
 */
import exifr from 'exifr';
import { readImage } from '../images.ts';
import type { GuardianTask, ProofImage, RuleCheck } from './types.ts';

export interface RuleOptions {
  /** How far from the task's location a photo's EXIF GPS may be. */
  gpsRadiusKm: number;
}

const ASKS_FOR_IMAGE = /\b(photo|photograph|picture|pic|image|screenshot|snapshot|screen ?shot)s?\b/i;
const ASKS_FOR_GPS = /\bgps\b|geo-?tag/i;
/** Without a time zone in the EXIF, the camera's clock could be anywhere from UTC−12 to UTC+14. */
const UNZONED_SLACK_MS = 14 * 3_600_000;
const ZONED_SLACK_MS = 5 * 60_000;

function distanceKm(lat1: number, lng1: number, lat2: number, lng2: number): number {
  const rad = Math.PI / 180;
  const a = Math.sin(((lat2 - lat1) * rad) / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lng2 - lng1) * rad) / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(a));
}

interface Exif {
  latitude?: number;
  longitude?: number;
  DateTimeOriginal?: string;
  OffsetTimeOriginal?: string;
}

/** EXIF GPS and capture time, or null when the image carries none (or it cannot be parsed). */
export async function readExif(bytes: Uint8Array): Promise<{ lat: number | null; lng: number | null; takenAt: Date | null; zoned: boolean } | null> {
  let exif: Exif | undefined;
  try {
    exif = await exifr.parse(bytes, { tiff: true, exif: true, gps: true, reviveValues: false, translateValues: false }) as Exif | undefined;
  } catch {
    return null;
  }
  if (!exif) return null;
  let takenAt: Date | null = null;
  const stamp = /^(\d{4}):(\d\d):(\d\d) (\d\d):(\d\d):(\d\d)$/.exec(String(exif.DateTimeOriginal ?? '').trim());
  const offset = /^([+-])(\d\d):(\d\d)$/.exec(String(exif.OffsetTimeOriginal ?? '').trim());
  if (stamp) {
    const [, y, mo, d, h, mi, s] = stamp.map(Number);
    const asUtc = Date.UTC(y, mo - 1, d, h, mi, s);
    const shift = offset ? (offset[1] === '-' ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3])) * 60_000 : 0;
    if (Number.isFinite(asUtc)) takenAt = new Date(asUtc - shift);
  }
  const lat = typeof exif.latitude === 'number' && Number.isFinite(exif.latitude) ? exif.latitude : null;
  const lng = typeof exif.longitude === 'number' && Number.isFinite(exif.longitude) ? exif.longitude : null;
  return { lat, lng, takenAt, zoned: offset !== null };
}

export async function runRuleChecks(task: GuardianTask, images: ProofImage[], options: RuleOptions): Promise<RuleCheck[]> {
  const checks: RuleCheck[] = [];
  const add = (check: string, passed: boolean, hard: boolean, note: string) => checks.push({ check, passed, hard, note });
  const { proof } = task;

  // The proof is of the task's kind.
  if (task.proofType === 'PHOTO' || task.proofType === 'SCREENSHOT') {
    add('proof_type', proof.photos.length > 0, true, proof.photos.length > 0
      ? `${task.proofType} proof with ${proof.photos.length} image(s)`
      : `${task.proofType} tasks need images; none were submitted`);
  } else if (task.proofType === 'CONFIRMATION') {
    const text = proof.confirmationText?.trim() ?? '';
    add('confirmation_text', text.length >= 3, true, text.length >= 3 ? 'Confirmation text present' : 'CONFIRMATION tasks need a confirmation text');
  } else {
    add('artifact', proof.hasArtifact, true, proof.hasArtifact ? 'Encrypted artifact present' : 'Credential tasks need an encrypted artifact');
  }

  // Every image exists and is really an image.
  const real = images.filter((image) => image.bytes && readImage(image.bytes));
  if (images.length > 0) {
    const broken = images.filter((image) => !real.includes(image)).map((image) => image.path);
    add('images_exist', broken.length === 0, true, broken.length === 0
      ? `All ${images.length} image(s) found in storage and readable as images`
      : `Missing or not images: ${broken.join(', ')}`);
  }

  // Enough images for the requirements that ask for one. The proof type is the contract: on a
  // CONFIRMATION or ARTIFACT task a requirement's wording ("Screenshot of …") demands no image.
  const takesImages = task.proofType === 'PHOTO' || task.proofType === 'SCREENSHOT';
  const imageRequirements = takesImages ? task.proofRequirements.filter((r) => ASKS_FOR_IMAGE.test(r)).length : 0;
  if (imageRequirements > 0) {
    if (real.length === 0) add('image_count', false, true, `${imageRequirements} requirement(s) ask for an image; none was submitted`);
    else if (real.length < imageRequirements) add('image_count', true, false, `${imageRequirements} requirement(s) ask for images and ${real.length} image(s) were submitted; one image may cover several`);
    else add('image_count', true, false, `${real.length} image(s) for ${imageRequirements} image requirement(s)`);
  }

  // Where and when, from EXIF.
  const exifs = await Promise.all(real.map(async (image) => ({ path: image.path, exif: await readExif(image.bytes!) })));
  const located = exifs.filter((e) => e.exif?.lat != null && e.exif?.lng != null);
  if (task.taskDomain === 'PHYSICAL' && task.location) {
    const { lat, lng } = task.location;
    const far = located
      .map((e) => ({ path: e.path, km: distanceKm(lat, lng, e.exif!.lat!, e.exif!.lng!) }))
      .filter((e) => e.km > options.gpsRadiusKm);
    if (located.length === 0) {
      const needsGps = task.proofRequirements.some((r) => ASKS_FOR_GPS.test(r));
      add('gps_location', !needsGps, needsGps, needsGps
        ? 'A requirement asks for GPS-stamped images, and no image carries GPS data'
        : 'No image carries GPS data; location not checked');
    } else {
      add('gps_location', far.length === 0, true, far.length === 0
        ? `GPS of ${located.length} image(s) within ${options.gpsRadiusKm} km of the task location`
        : far.map((f) => `${f.path} was taken ${f.km.toFixed(2)} km from the task location (limit ${options.gpsRadiusKm} km)`).join('; '));
    }
  }

  const timed = exifs.filter((e) => e.exif?.takenAt);
  if (timed.length > 0 && task.acceptedAt) {
    const outside = timed.filter((e) => {
      const slack = e.exif!.zoned ? ZONED_SLACK_MS : UNZONED_SLACK_MS;
      const at = e.exif!.takenAt!.getTime();
      return at < task.acceptedAt!.getTime() - slack || at > task.submittedAt.getTime() + slack;
    });
    add('capture_time', outside.length === 0, true, outside.length === 0
      ? `Capture time of ${timed.length} image(s) falls between acceptance and submission`
      : outside.map((e) => `${e.path} was taken at ${e.exif!.takenAt!.toISOString()}, outside the time the task was held`).join('; '));
  }
  return checks;
}
