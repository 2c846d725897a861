/** Where a point is: its country, from borders shipped with country-coder (no network, no API key). */

// Loaded on first use: the borders are a few megabytes, and digital-only traffic never needs them.
let coder: Promise<typeof import('@rapideditor/country-coder')> | undefined;

/** The ISO 3166-1 alpha-2 code of the country at a point, or null at sea and in Antarctica's unclaimed parts. */
export async function countryAt(lat: number, lng: number): Promise<string | null> {
  coder ??= import('@rapideditor/country-coder');
  return (await coder).iso1A2Code([lng, lat]) ?? null;
}
