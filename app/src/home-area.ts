/**
 * An operator's home area as the app sends it: coordinates rounded to 0.01° (about a kilometre),
 * never the exact point the phone reports. The API then places the operator in a cell of about
 * 2 km for agents' searches, so neither the app nor a search ever gives away a doorstep.
 */
export interface HomeArea {
  lat: number;
  lng: number;
}

const coarse = (degrees: number) => Math.round(degrees * 100) / 100;

export const coarseArea = (lat: number, lng: number): HomeArea => ({ lat: coarse(lat), lng: coarse(lng) });

/** A typed place, "latitude, longitude" as any maps app copies it; null when it is not one. */
export function parsePlace(typed: string): HomeArea | null {
  const match = typed.match(/^\s*(-?\d+(?:\.\d+)?)\s*[,;\s]\s*(-?\d+(?:\.\d+)?)\s*$/);
  const lat = match ? Number(match[1]) : NaN;
  const lng = match ? Number(match[2]) : NaN;
  return Math.abs(lat) <= 90 && Math.abs(lng) <= 180 ? coarseArea(lat, lng) : null;
}

/** The browser's position as a home area (rejects when location is refused or unavailable). */
export function locateHome(): Promise<HomeArea> {
  return new Promise((resolve, reject) => {
    if (!('geolocation' in navigator)) return reject(new Error('no geolocation'));
    navigator.geolocation.getCurrentPosition(
      (position) => resolve(coarseArea(position.coords.latitude, position.coords.longitude)),
      reject,
      { enableHighAccuracy: false, timeout: 10_000, maximumAge: 10 * 60_000 },
    );
  });
}
