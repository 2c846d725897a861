/**
 * The profile form's fields: their labels, what each must be (the API's rules, said as a person would),
 * and which API field each stands for.
 */
import type { FieldErrors } from './form-errors.ts';
import type { HomeArea } from './home-area.ts';

export interface ProfileValues {
  name: string;
  email: string;
  phone: string;
  city: string;
  country: string;
  home: HomeArea | null;
  travel: string;
  skills: string[];
}

export const LABELS: Record<string, string> = {
  name: 'Full name',
  email: 'Email',
  phone: 'Phone',
  city: 'City',
  country: 'Country code',
  home: 'Home area',
  travel: 'How far you will travel',
  skills: 'What you can do',
};

export const PROBLEMS: Record<string, string> = {
  name: 'Enter your name, up to 100 characters.',
  email: 'Enter your email address, such as name@example.com.',
  phone: 'Enter a phone number, such as +1 212 555 0100, or leave it empty.',
  city: 'Enter the city you live in.',
  country: 'Enter your country as two letters, such as US, GB or ES.',
  home: 'Use your location, or type it as latitude and longitude, such as 40.7128, -74.0060.',
  travel: 'Enter a whole number of kilometres from 1 to 500, or leave it empty.',
  skills: 'Choose only among the kinds of task shown.',
};

/** The form field an API field (`location.country`, `skills.2`) belongs to. */
export function fieldOf(apiField: string): string | undefined {
  const [first, second] = apiField.split('.');
  if (first === 'location') return second === 'lat' || second === 'lng' ? 'home' : second;
  if (first === 'travel_radius_km') return 'travel';
  return first in LABELS ? first : undefined;
}

/** Every problem with the values, by field (empty when they can be sent). */
export function check(values: ProfileValues, withEmail: boolean): FieldErrors {
  const errors: FieldErrors = {};
  const name = values.name.trim();
  if (!name || name.length > 100) errors.name = PROBLEMS.name;
  if (withEmail && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(values.email.trim())) errors.email = PROBLEMS.email;
  if (values.phone.trim() && !/^\+?[0-9][0-9 ()-]{4,30}$/.test(values.phone.trim())) errors.phone = PROBLEMS.phone;
  const city = values.city.trim();
  if (!city || city.length > 100) errors.city = PROBLEMS.city;
  if (!/^[A-Za-z]{2}$/.test(values.country.trim())) errors.country = PROBLEMS.country;
  const travel = values.travel.trim();
  if (travel && !(/^\d+$/.test(travel) && Number(travel) >= 1 && Number(travel) <= 500)) errors.travel = PROBLEMS.travel;
  return errors;
}

/** The values as the API takes them (registration and PATCH /operator/me alike). */
export function toProfile(values: ProfileValues) {
  return {
    name: values.name.trim(),
    location: { city: values.city.trim(), country: values.country.trim().toUpperCase(), ...(values.home ?? {}) },
    skills: values.skills as never[],
  };
}
