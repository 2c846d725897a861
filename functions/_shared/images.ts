/**
 * Recognising proof images by their first bytes: what a file claims to be (its name, a declared
 * Content-Type) is never trusted. Only JPEG, PNG, WebP and HEIC/HEIF are accepted, and only when
 * their headers decode to real dimensions (image-size reads them), so magic bytes in front of
 * anything else (FF D8 FF followed by HTML) are not an image.
 */
import { imageSize } from 'image-size';

export type ImageContentType = 'image/jpeg' | 'image/png' | 'image/webp' | 'image/heic';
export type ImageExtension = 'jpg' | 'png' | 'webp' | 'heic';

export interface SniffedImage {
  contentType: ImageContentType;
  extension: ImageExtension;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Brands that only HEIC/HEIF (HEVC-coded) images carry. */
const HEIC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis']);
/** Generic HEIF brands: also carried by AVIF files, which are therefore told apart below. */
const HEIF_GENERIC_BRANDS = new Set(['mif1', 'msf1']);
const AVIF_BRANDS = new Set(['avif', 'avis']);

const startsWith = (bytes: Uint8Array, prefix: readonly number[], offset = 0) =>
  bytes.length >= offset + prefix.length && prefix.every((b, i) => bytes[offset + i] === b);

const ascii = (bytes: Uint8Array, offset: number, length: number) =>
  String.fromCharCode(...bytes.subarray(offset, offset + length));

/**
 * The brands of an ISO-BMFF `ftyp` box at the start of `bytes` (major brand first), or null when
 * there is none or it is truncated.
 */
function ftypBrands(bytes: Uint8Array): string[] | null {
  if (bytes.length < 16 || ascii(bytes, 4, 4) !== 'ftyp') return null;
  const size = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
  // size 0 ("to end of file") and 1 (64-bit size) never occur for ftyp in real images.
  if (size < 16 || size > bytes.length) return null;
  const brands = [ascii(bytes, 8, 4)]; // bytes 12..15 are the minor version, not a brand
  for (let offset = 16; offset + 4 <= size; offset += 4) brands.push(ascii(bytes, offset, 4));
  return brands;
}

/**
 * The image type of `bytes` from its magic bytes, or null for anything else (GIF, SVG, PDF, text,
 * AVIF, truncated data...).
 *
 * HEIC/HEIF: an `ftyp` box at offset 4 whose major or a compatible brand is heic, heix, hevc, hevx,
 * heim, heis, mif1 or msf1. An AVIF file also lists mif1, so a file whose brands name AVIF and no
 * HEVC brand is not taken for HEIC.
 */
export function sniffImage(bytes: Uint8Array): SniffedImage | null {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return { contentType: 'image/jpeg', extension: 'jpg' };
  if (startsWith(bytes, PNG_SIGNATURE)) return { contentType: 'image/png', extension: 'png' };
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') {
    return { contentType: 'image/webp', extension: 'webp' };
  }
  const brands = ftypBrands(bytes);
  if (brands) {
    if (brands.some((b) => HEIC_BRANDS.has(b))) return { contentType: 'image/heic', extension: 'heic' };
    if (brands.some((b) => HEIF_GENERIC_BRANDS.has(b)) && !brands.some((b) => AVIF_BRANDS.has(b))) {
      return { contentType: 'image/heic', extension: 'heic' };
    }
  }
  return null;
}

/** image-size's name for each type we accept. */
const DECODED_TYPE: Record<ImageContentType, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/heic': 'heif' };

/**
 * The image type of `bytes` when its magic bytes name one we accept and its header decodes, as
 * that same type, to a width and a height; null for anything else.
 */
export function readImage(bytes: Uint8Array): (SniffedImage & { width: number; height: number }) | null {
  const sniffed = sniffImage(bytes);
  if (!sniffed) return null;
  try {
    const { type, width, height } = imageSize(bytes);
    if (type !== DECODED_TYPE[sniffed.contentType] || !width || !height) return null;
    return { ...sniffed, width, height };
  } catch {
    return null;
  }
}
