/**
 * Floors under what a proof image shows: big enough to see something, not one flat colour, and on
 * a photo task a camera's format rather than a screenshot's. Each failure goes to review.
 */
import { findings, outcome, photo } from './outcome.ts';
import type { PhotoFacts } from './photos.ts';
import type { GuardianTask, RuleCheck } from './types.ts';

/** The shorter side of a proof image, in pixels, below which little can be made out. */
export const MIN_SIDE_PX = 240;
/** Brightness spread (standard deviation, 0–255, on a 32×32 grid) below which an image is near-uniform. */
export const MIN_SPREAD = 4;

export function contentCheck(task: GuardianTask, photos: PhotoFacts[]): RuleCheck {
  const found = findings();
  const photoTask = task.proofType === 'PHOTO';
  for (const p of photos) {
    if (!p.image) continue;
    const name = photo(p.number);
    const { width, height, contentType } = p.image;
    if (Math.min(width, height) < MIN_SIDE_PX) found.doubtful.push(`${name} is only ${width}×${height} pixels, too small to show the task (at least ${MIN_SIDE_PX} on the shorter side)`);
    if (p.spread !== null && p.spread < MIN_SPREAD) found.doubtful.push(`${name} is almost one flat colour: nothing can be made out in it`);
    if (photoTask && contentType === 'image/png') found.doubtful.push(`${name} is a PNG, the format of screenshots; a camera saves JPEG or HEIC`);
    else if (photoTask && p.spread === null) found.doubtful.push(`${name} could not be examined pixel by pixel (${contentType}), so a person should look at it`);
  }
  return outcome('image_content', found, `${photos.length} image(s) are large enough and show something`);
}
