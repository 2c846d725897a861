/** First run: who the operator is, where they live (to be found), and what they are good at. */
import { api } from '../api.ts';
import { ProfileForm } from '../components/profile-form.tsx';
import { useFocusOnMount } from '../hooks.ts';
import { type ProfileValues, toProfile } from '../profile-rules.ts';

export function Register({ email, onRegistered }: { email: string; onRegistered: () => void }) {
  const heading = useFocusOnMount<HTMLHeadingElement>('register');
  const initial: ProfileValues = { name: '', email, phone: '', city: '', country: '', home: null, travel: '', skills: [] };

  const save = async (values: ProfileValues) => {
    await api.account.register({
      ...toProfile(values),
      email: values.email.trim(),
      ...(values.phone.trim() ? { phone: values.phone.trim() } : {}),
      ...(values.travel.trim() ? { travel_radius_km: Number(values.travel) } : {}),
    });
    onRegistered();
  };

  return (
    <section class="screen" aria-labelledby="register-title">
      <h1 id="register-title" tabIndex={-1} ref={heading}>Set up your profile</h1>
      <p>Requesters see your first name and city. New operators are checked before they can accept tasks.</p>
      <ProfileForm initial={initial} withEmail submitLabel="Create my profile" busyLabel="Saving…" onSave={save} />
    </section>
  );
}
