/** Editing the profile: name, phone, home area, how far the operator travels, and skills. */
import type { OperatorProfile } from '@humanops/sdk/operator';
import { api } from '../api.ts';
import { type ProfileValues, toProfile } from '../profile-rules.ts';
import { ProfileForm } from './profile-form.tsx';

export function ProfileEditor({ profile, onSaved, onCancel }: { profile: OperatorProfile; onSaved: () => void; onCancel: () => void }) {
  const { lat, lng } = profile.location;
  const initial: ProfileValues = {
    name: profile.name,
    email: profile.email,
    phone: profile.phone ?? '',
    city: profile.location.city,
    country: profile.location.country,
    home: lat !== null && lng !== null ? { lat, lng } : null,
    travel: profile.travel_radius_km == null ? '' : String(profile.travel_radius_km),
    skills: profile.skills,
  };
  const save = async (values: ProfileValues) => {
    await api.account.update({
      ...toProfile(values),
      phone: values.phone.trim() || null,
      travel_radius_km: values.travel.trim() ? Number(values.travel) : null,
    });
    onSaved();
  };
  return <ProfileForm initial={initial} withEmail={false} submitLabel="Save changes" busyLabel="Saving…" onSave={save} onCancel={onCancel} />;
}
