/** The operator's profile, verification status and sign-out. */
import type { OperatorProfile } from '@humanops/sdk/operator';
import { KycNotice } from '../components/kyc-notice.tsx';
import { typeLabel } from '../format.ts';
import { useFocusOnMount } from '../hooks.ts';
import { signOut } from '../session.ts';

const KYC_WORDS = { VERIFIED: 'Verified', PENDING: 'Being checked', REJECTED: 'Not approved' } as const;

export function Profile({ profile, onChanged }: { profile: OperatorProfile; onChanged: () => void }) {
  const heading = useFocusOnMount<HTMLHeadingElement>('profile');
  return (
    <section class="screen" aria-labelledby="profile-title">
      <h1 id="profile-title" tabIndex={-1} ref={heading}>{profile.name}</h1>
      <KycNotice profile={profile} />
      <dl class="facts">
        <dt>Identity check</dt>
        <dd>{KYC_WORDS[profile.kyc_status]}</dd>
        <dt>Email</dt>
        <dd>{profile.email}</dd>
        {profile.phone && <><dt>Phone</dt><dd>{profile.phone}</dd></>}
        <dt>Area</dt>
        <dd>{profile.location.city}, {profile.location.country}</dd>
        <dt>Rating</dt>
        <dd>{profile.rating === null ? 'No ratings yet' : `${profile.rating} / 5 from ${profile.rating_count}`}</dd>
        <dt>Skills</dt>
        <dd>{profile.skills.length ? profile.skills.map(typeLabel).join(', ') : 'Every kind of task'}</dd>
      </dl>
      <button onClick={onChanged}>Refresh status</button>
      <button onClick={() => signOut()}>Sign out</button>
    </section>
  );
}
