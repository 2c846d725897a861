/** A submitted proof as agents (and the admin) see it: the reference's shape, photos as signed URLs. */
import type { Deps } from './context.ts';
import { iso } from './http.ts';

interface StoredProof {
  photos?: string[];
  notes?: string | null;
  confirmation_text?: string | null;
  reference_url?: string | null;
  artifact?: unknown;
  /** Kept on a proof a resubmission replaced: when it was sent. */
  submitted_at?: string;
}

/** The proof with fresh signed URLs for its photos, or null when there is none. */
export async function proofAsShown(deps: Pick<Deps, 'config' | 'storage'>, stored: unknown, submittedAt: Date | null, origin: string) {
  const proof = stored as StoredProof | null;
  if (!proof) return null;
  const photos = await Promise.all((proof.photos ?? []).map((path) =>
    deps.storage ? deps.storage.signedUrl(path, { origin, expiresInSeconds: deps.config.uploads.signedUrlTtlSeconds }) : path));
  return {
    photos,
    notes: proof.notes ?? null,
    confirmation_text: proof.confirmation_text ?? null,
    reference_url: proof.reference_url ?? null,
    has_artifact: proof.artifact != null,
    submittedAt: proof.submitted_at ?? iso(submittedAt),
  };
}
