/**
 * Everything the rules need from each proof image: its type and size, a SHA-256 of the file, its
 * EXIF, and, for JPEGs, a perceptual hash and the spread of brightness from a one-eighth-scale read
 * of the luma (see jpeg-luma.ts for why not a full decode), and the text drawn in its pixels, read
 * from the same walk at up to TEXT_MAX_SIDE samples (pixel-text.ts).
 *
 * The pixels are read once, when the photo is uploaded (one file per request), and kept with the
 * file (PixelFacts): a Guardian tick judges up to four jobs of several photos each, and reading
 * all their pixels there would cost seconds of CPU the edge runtime does not allow a request.
 */
import { readImage, type ImageContentType } from '../images.ts';
import { log } from '../log.ts';
import { readExif, type PhotoExif } from './exif.ts';
import { type Detail, readJpegLuma } from './jpeg-luma.ts';
import { readPixelText, TEXT_MAX_SIDE } from './pixel-text.ts';
import { brightnessSpread, differenceHash } from './pixels.ts';
import type { ProofImage } from './types.ts';

/** What the pixels of one file showed when it was uploaded. */
export interface PixelFacts {
  sha256: string;
  /** 16 hex digits; null when the pixels could not be examined (not a JPEG, or not decodable). */
  dhash: string | null;
  /** Standard deviation of brightness, 0–255; null when the pixels could not be examined. */
  spread: number | null;
  /**
   * The text read in the pixels ('' when there is none); null when it could not be read (not a
   * baseline JPEG, or the reader failed).
   */
  text: string | null;
}

export interface PhotoFacts {
  /** 1 for the first image submitted, 2 for the second… (how the operator knows them). */
  number: number;
  path: string;
  /** Null when the file is missing or is not an image we accept. */
  image: { contentType: ImageContentType; width: number; height: number } | null;
  sha256: string | null;
  dhash: string | null;
  spread: number | null;
  text: string | null;
  exif: PhotoExif | null;
}

const hex = (buffer: ArrayBuffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');

export const sha256Hex = async (bytes: Uint8Array) => hex(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));

/** How many samples per 8×8 block to read for the text: as many as fit in TEXT_MAX_SIDE. */
function textDetail(width: number, height: number): Detail {
  const fit = (8 * TEXT_MAX_SIDE) / Math.max(width, height);
  return fit >= 8 ? 8 : fit >= 4 ? 4 : fit >= 2 ? 2 : 1;
}

/** Reads a file's pixels (JPEG only; other types keep dhash, spread and text null). */
export async function examinePixels(bytes: Uint8Array): Promise<PixelFacts> {
  const sha256 = await sha256Hex(bytes);
  const image = readImage(bytes);
  if (image?.contentType !== 'image/jpeg') return { sha256, dhash: null, spread: null, text: null };
  const detail = textDetail(image.width, image.height);
  const luma = readJpegLuma(bytes, detail);
  if (!luma) return { sha256, dhash: null, spread: null, text: null };
  const picture = detail === 1 ? luma.blocks : luma.picture;
  // A failure leaves the text not read, which sends the photo to review (instructions.ts).
  const text = picture ? await readPixelText(picture).catch((error) => (log('warn', 'could not read the text in a photo', { error: String(error) }), null)) : null;
  return { sha256, dhash: differenceHash(luma.blocks), spread: brightnessSpread(luma.blocks), text };
}

/**
 * One photo's facts: its header and EXIF read now, its hash and pixels as recorded when the server
 * stored it (`pixels`; a path is written once, so they are still this file's).
 */
export async function examinePhoto(image: ProofImage, index: number, pixels: PixelFacts | undefined): Promise<PhotoFacts> {
  const facts: PhotoFacts = { number: index + 1, path: image.path, image: null, sha256: null, dhash: null, spread: null, text: null, exif: null };
  if (!image.bytes) return facts;
  facts.sha256 = pixels?.sha256 ?? await sha256Hex(image.bytes);
  const read = readImage(image.bytes);
  if (!read) return facts;
  facts.image = { contentType: read.contentType, width: read.width, height: read.height };
  facts.exif = await readExif(image.bytes);
  facts.dhash = pixels?.dhash ?? null;
  facts.spread = pixels?.spread ?? null;
  facts.text = pixels?.text ?? null;
  return facts;
}

export async function examinePhotos(images: ProofImage[], pixels: Map<string, PixelFacts>): Promise<PhotoFacts[]> {
  const facts: PhotoFacts[] = [];
  for (const [index, image] of images.entries()) facts.push(await examinePhoto(image, index, pixels.get(image.path)));
  return facts;
}
