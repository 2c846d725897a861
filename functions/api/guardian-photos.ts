/**
 * Loading a job's proof photos within the edge's memory (256 MB per worker, ArrayBuffers
 * included): one file at a time, at most a byte budget per job, and one job's photos in memory at
 * a time per worker (the gate). When the model takes images by URL, the bytes are let go once the
 * rules have read them, before the slow model call.
 */
import type { ProofImage } from '../_shared/guardian/types.ts';
import type { ProofStorage } from '../_shared/storage.ts';

/** A job's photos add up to more than it may read; a person looks at them instead. */
export class ProofTooLarge extends Error {}

/** Signed URLs for the model live this long: it fetches them within the call. */
export const MODEL_URL_TTL_SECONDS = 300;

let gate: Promise<unknown> = Promise.resolve();

/**
 * Runs `work` once no other job of this worker holds its photos: jobs' model calls overlap, their
 * photos in memory do not.
 */
export function oneJobAtATime<T>(work: () => Promise<T>): Promise<T> {
  const turn = gate.then(work, work);
  gate = turn.catch(() => {});
  return turn;
}

/** Reads each photo in turn; past `budgetBytes` in total, ProofTooLarge. */
export async function loadPhotos(storage: ProofStorage | undefined, paths: string[], budgetBytes: number): Promise<ProofImage[]> {
  if (paths.length > 0 && !storage) throw new Error('Proof storage is not configured; cannot read the images');
  const images: ProofImage[] = [];
  let total = 0;
  for (const path of paths) {
    const file = await storage!.read(path);
    total += file?.bytes.length ?? 0;
    if (total > budgetBytes) {
      throw new ProofTooLarge(`The proof's images add up to more than ${Math.floor(budgetBytes / 1024 / 1024)} MB; they need a human look`);
    }
    images.push({ path, bytes: file?.bytes ?? null, contentType: file?.contentType ?? null, size: file?.bytes.length });
  }
  return images;
}

/** The images as the model gets them by reference: a signed URL each, no bytes held. */
export function byReference(storage: ProofStorage, images: ProofImage[], origin: string): Promise<ProofImage[]> {
  return Promise.all(images.map(async (image) => ({
    path: image.path,
    bytes: null,
    contentType: image.contentType,
    size: image.size,
    url: image.bytes ? await storage.signedUrl(image.path, { origin, expiresInSeconds: MODEL_URL_TTL_SECONDS }) : undefined,
  })));
}
