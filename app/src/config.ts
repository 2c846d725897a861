/**
 * Build-time settings (Vite replaces them when building, so a static host needs no server code):
 * - VITE_HUMANOPS_API_URL: the API's origin, e.g. https://api.humanops.io. Empty: the page's own
 *   origin (the local stack serves the app and the API together).
 * - VITE_CLERK_PUBLISHABLE_KEY: Clerk's publishable key. Empty: the local stack's own sign-in.
 * - VITE_MAP_TILE_URL / VITE_MAP_TILE_ATTRIBUTION: the map's raster tiles ({z}/{x}/{y}) and the
 *   credit their provider asks for (HTML). Empty: OpenStreetMap's, whose policy suits light use only.
 */
export const API_URL: string = import.meta.env.VITE_HUMANOPS_API_URL ?? '';
export const CLERK_PUBLISHABLE_KEY: string = import.meta.env.VITE_CLERK_PUBLISHABLE_KEY ?? '';
export const MAP_TILE_URL: string = import.meta.env.VITE_MAP_TILE_URL || 'https://tile.openstreetmap.org/{z}/{x}/{y}.png';
export const MAP_TILE_ATTRIBUTION: string = import.meta.env.VITE_MAP_TILE_ATTRIBUTION
  || '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors';

/** The Guardian's default GPS radius: photos taken farther from the task are likely refused. */
export const GPS_RADIUS_KM = 1;
