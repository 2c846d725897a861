/** The verification notice a PENDING or REJECTED operator sees wherever accepting matters. */
import type { OperatorProfile } from '@humanops/sdk/operator';

export function KycNotice({ profile }: { profile: OperatorProfile }) {
  if (profile.kyc_status === 'VERIFIED') return null;
  return (
    <p class="notice" role="note">
      {profile.kyc_status === 'PENDING'
        ? 'Your identity check is in progress. Open tasks appear here, ready to accept, as soon as you are verified.'
        : 'Your identity check was not approved, so you cannot accept tasks. Contact support to try again.'}
    </p>
  );
}
