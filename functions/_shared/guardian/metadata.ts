/**
 * Signs that a photo's metadata was edited or made up. None proves it (phones differ), so each only
 * sends the proof to review: an editor named in Software, no camera maker, GPS exactly on the task's
 * point, a ModifyDate other than the capture time, and a GPS clock far from the camera's.
 */
import { findings, outcome, photo } from './outcome.ts';
import type { PhotoFacts } from './photos.ts';
import type { GuardianTask, RuleCheck } from './types.ts';

/** Editors and metadata tools; phones write their OS version or model here, which is fine. */
export const EDITORS = /photoshop|lightroom|gimp|exiftool|exiv2|piexif|imagemagick|graphicsmagick|snapseed|picsart|pixelmator|affinity|paint\.net|photopea|facetune|luminar|capture one|darktable|rawtherapee|canva|fotor|acdsee|paintshop|befunky|meitu|photoscape|photodirector|polarr|airbrush/i;

/** Closer than this to the task's point on both axes (about 11 cm) is typed in, not measured. */
const SAME_POINT_DEG = 1e-6;
/** How far the GPS fix may lag the shutter before the two clocks disagree. */
const CLOCK_SLACK_MS = 10 * 60_000;
const MAX_ZONE_MS = 14 * 3_600_000;

export function metadataCheck(task: GuardianTask, photos: PhotoFacts[]): RuleCheck {
  const found = findings();
  const point = task.taskDomain === 'PHYSICAL' ? task.location : null;
  for (const p of photos) {
    const exif = p.exif;
    const name = photo(p.number);
    if (!exif?.make) found.doubtful.push(`${name} names no camera maker, which photos straight from a phone or camera do`);
    if (!exif) continue;
    if (exif.software && EDITORS.test(exif.software)) found.doubtful.push(`${name} was saved by an editing program (${exif.software.slice(0, 60)})`);
    if (point && exif.lat != null && exif.lng != null && Math.abs(exif.lat - point.lat) < SAME_POINT_DEG && Math.abs(exif.lng - point.lng) < SAME_POINT_DEG) {
      found.doubtful.push(`${name}'s GPS position is exactly the task's point, as if typed in rather than measured`);
    }
    if (exif.modifiedStamp && exif.capturedStamp && exif.modifiedStamp !== exif.capturedStamp) {
      found.doubtful.push(`${name} was changed after it was taken (modified ${exif.modifiedStamp}, taken ${exif.capturedStamp})`);
    }
    if (exif.gpsTime && exif.takenAt) {
      const apart = Math.abs(exif.gpsTime.getTime() - exif.takenAt.getTime());
      if (apart > (exif.zoned ? CLOCK_SLACK_MS : MAX_ZONE_MS + CLOCK_SLACK_MS)) {
        found.doubtful.push(`${name}'s GPS time and camera time are ${Math.round(apart / 60_000)} minutes apart`);
      }
    }
  }
  return outcome('photo_metadata', found, `The metadata of ${photos.length} photo(s) shows no sign of editing`);
}
