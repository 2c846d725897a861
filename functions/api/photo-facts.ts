/**
 * What the server reads from an uploaded proof file's pixels (examinePixels), kept with the file in
 * proof_files when it is stored and handed to the Guardian when it judges the proof.
 */
import { examinePixels, type PixelFacts } from '../_shared/guardian/photos.ts';
import type { Db } from '../_shared/db.ts';
import type { Deps } from './context.ts';

/** The most of a photo's words kept (proof_files.pixel_text's limit); more is cut, not refused. */
const MAX_TEXT = 10_000;

export async function recordPhotoFacts(db: Db, path: string, bytes: Uint8Array): Promise<void> {
  const facts = await examinePixels(bytes);
  const text = facts.text?.slice(0, MAX_TEXT) ?? null;
  await db.asService((tx) => tx`select api.record_photo_facts(${path}, ${facts.sha256}, ${facts.dhash}, ${facts.spread}, ${text})`);
}

/** The facts recorded for `paths` (a file stored before its facts were recorded has none). */
export async function photoFactsOf(deps: Deps, paths: string[]): Promise<Map<string, PixelFacts>> {
  if (paths.length === 0) return new Map();
  const rows = await deps.db.asService((tx) => tx<{ path: string; sha256: string; dhash: string | null; spread: number | null; text: string | null }[]>`
    select path, encode(sha256, 'hex') as sha256, lpad(to_hex(dhash), 16, '0') as dhash, brightness_spread as spread, pixel_text as text
      from public.proof_files where path = any(${paths}::text[]) and sha256 is not null`);
  return new Map(rows.map((r) => [r.path, { sha256: r.sha256, dhash: r.dhash, spread: r.spread, text: r.text }]));
}
