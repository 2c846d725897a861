/** The operator's profile (and its editor), verification status and sign-out. */
import type { OperatorProfile } from '@humanops/sdk/operator';
import { useState } from 'preact/hooks';
import { KycNotice } from '../components/kyc-notice.tsx';
import { ProfileEditor } from '../components/profile-editor.tsx';
import { PushSettings } from '../components/push-settings.tsx';
import { useFocusOnMount } from '../hooks.ts';
import { turnOffPush } from '../push.ts';
import { signOut } from '../session.ts';
import { typeName } from '../task-types.ts';

const KYC_WORDS = { VERIFIED: 'Verified', PENDING: 'Being checked', REJECTED: 'Not approved' } as const;

export function Profile({ profile, onChanged }: { profile: OperatorProfile; onChanged: () => void }) {
  const [editing, setEditing] = useState(false);
  const [saved, setSaved] = useState(false);
  const heading = useFocusOnMount<HTMLHeadingElement>(editing ? 'profile-edit' : 'profile');
  const { lat, lng } = profile.location;

  if (editing) {
    return (
      <section class="screen" aria-labelledby="profile-title">
        <h1 id="profile-title" tabIndex={-1} ref={heading}>Edit your profile</h1>
        <ProfileEditor profile={profile} onCancel={() => setEditing(false)} onSaved={() => {
          setEditing(false);
          setSaved(true);
          onChanged();
        }} />
      </section>
    );
  }

  return (
    <section class="screen" aria-labelledby="profile-title">
      <h1 id="profile-title" tabIndex={-1} ref={heading}>{profile.name}</h1>
      <KycNotice profile={profile} />
      {saved && <p class="ok" role="status">Your profile is saved.</p>}
      <dl class="facts">
        <dt>Identity check</dt>
        <dd>{KYC_WORDS[profile.kyc_status]}</dd>
        <dt>Email</dt>
        <dd>{profile.email}</dd>
        {profile.phone && <><dt>Phone</dt><dd>{profile.phone}</dd></>}
        <dt>Area</dt>
        <dd>{profile.location.city}, {profile.location.country}</dd>
        <dt>Home area</dt>
        <dd>{lat !== null && lng !== null ? `Near ${lat.toFixed(2)}, ${lng.toFixed(2)}` : 'Not set: requesters cannot find you nearby'}</dd>
        <dt>Travel</dt>
        <dd>{profile.travel_radius_km == null ? 'No limit' : `Up to ${profile.travel_radius_km} km`}</dd>
        <dt>Rating</dt>
        <dd>{profile.rating === null ? 'No ratings yet' : `${profile.rating} / 5 from ${profile.rating_count}`}</dd>
        <dt>Skills</dt>
        <dd>{profile.skills.length ? profile.skills.map(typeName).join(', ') : 'Every kind of task'}</dd>
      </dl>
      <button class="primary" onClick={() => {
        setSaved(false);
        setEditing(true);
      }}>Edit profile</button>
      <PushSettings />
      <button onClick={onChanged}>Refresh status</button>
      <button onClick={async () => {
        // While the session still holds: this browser's alerts stop with it.
        await turnOffPush().catch(() => {});
        await signOut();
      }}>Sign out</button>
    </section>
  );
}
