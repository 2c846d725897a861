/**
 * Rule checks that need no model and always run: the files exist and are images, enough of them,
 * of the proof's kind; for a photo of a physical task, hard evidence of where and when; signs of
 * edited metadata, empty or screenshot images, reused photos, and text addressed to the Guardian.
 */
import { contentCheck } from './content.ts';
import { placeCheck, timeCheck } from './evidence.ts';
import { instructionCheck } from './instructions.ts';
import { metadataCheck } from './metadata.ts';
import { photo } from './outcome.ts';
import type { PhotoFacts } from './photos.ts';
import { type EarlierUse, reuseCheck } from './reuse.ts';
import type { GuardianTask, RuleCheck } from './types.ts';

export interface RuleOptions {
  /** How far from the task's location a photo's EXIF GPS may be. */
  gpsRadiusKm: number;
  /** What the photos match among earlier proofs; null when no history was consulted. */
  earlierUses: EarlierUse[] | null;
}

/** Every check the rules can report, in the order they run (the operator app words each one). */
export const CHECK_NAMES = [
  'proof_type', 'confirmation_text', 'artifact', 'images_exist', 'image_count', 'gps_location', 'capture_time',
  'photo_metadata', 'image_content', 'photo_reuse', 'instruction_text',
] as const;

const ASKS_FOR_IMAGE = /\b(photo|photograph|picture|pic|image|screenshot|snapshot|screen ?shot)s?\b/i;

export function runRuleChecks(task: GuardianTask, photos: PhotoFacts[], options: RuleOptions): RuleCheck[] {
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
  const real = photos.filter((p) => p.image);
  if (photos.length > 0) {
    // Named by number, as the operator saw them: a storage path means nothing to anyone reading it.
    const broken = photos.filter((p) => !p.image).map((p) => photo(p.number));
    add('images_exist', broken.length === 0, true, broken.length === 0
      ? `All ${photos.length} image(s) found in storage and readable as images`
      : `Missing or not an image: ${broken.join(', ')}`);
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
  if (real.length === 0) {
    checks.push(instructionCheck(task, []));
    return checks;
  }

  // A photo of a physical task must prove where and when, whatever the requirements say.
  const physicalPhoto = task.proofType === 'PHOTO' && task.taskDomain === 'PHYSICAL' && task.location !== null;
  if (physicalPhoto) checks.push(placeCheck(task, real, options.gpsRadiusKm));
  const time = task.acceptedAt ? timeCheck(task, real, physicalPhoto) : null;
  if (time) checks.push(time);
  if (task.proofType === 'PHOTO') checks.push(metadataCheck(task, real));
  checks.push(contentCheck(task, real));
  if (options.earlierUses) checks.push(reuseCheck(real, options.earlierUses));
  checks.push(instructionCheck(task, real));
  return checks;
}
