/** First run: who the operator is, where they work, and what they are good at. */
import { TASK_TYPES } from '@humanops/sdk/operator';
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { typeLabel } from '../format.ts';
import { useFocusOnMount } from '../hooks.ts';
import { explain } from '../messages.ts';

export function Register({ email, onRegistered }: { email: string; onRegistered: () => void }) {
  const heading = useFocusOnMount<HTMLHeadingElement>('register');
  const [form, setForm] = useState({ name: '', email, phone: '', city: '', country: '' });
  const [skills, setSkills] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const field = (name: keyof typeof form) => ({
    id: name,
    value: form[name],
    onInput: (event: Event) => setForm({ ...form, [name]: (event.currentTarget as HTMLInputElement).value }),
  });
  const toggle = (skill: string) => setSkills(skills.includes(skill) ? skills.filter((s) => s !== skill) : [...skills, skill]);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.account.register({
        name: form.name.trim(),
        email: form.email.trim(),
        ...(form.phone.trim() ? { phone: form.phone.trim() } : {}),
        location: { city: form.city.trim(), country: form.country.trim() },
        skills: skills as never,
      });
      onRegistered();
    } catch (failure) {
      setError(explain(failure));
      setBusy(false);
    }
  };

  return (
    <section class="screen" aria-labelledby="register-title">
      <h1 id="register-title" tabIndex={-1} ref={heading}>Set up your profile</h1>
      <p>Requesters see your first name and city. New operators are checked before they can accept tasks.</p>
      <form onSubmit={submit} noValidate>
        <label for="name">Full name</label>
        <input {...field('name')} autocomplete="name" required maxLength={100} />
        <label for="email">Email</label>
        <input {...field('email')} type="email" autocomplete="email" required />
        <label for="phone">Phone <span class="muted">(optional)</span></label>
        <input {...field('phone')} type="tel" autocomplete="tel" placeholder="+1 555 123 4567" />
        <label for="city">City</label>
        <input {...field('city')} autocomplete="address-level2" required maxLength={100} />
        <label for="country">Country code</label>
        <input {...field('country')} autocomplete="country" required maxLength={2} placeholder="US" aria-describedby="country-hint" />
        <p id="country-hint" class="hint">Two letters, such as US, GB or ES.</p>
        <fieldset>
          <legend>What you can do <span class="muted">(none chosen: you see every task)</span></legend>
          <div class="chips">
            {TASK_TYPES.map((skill) => (
              <button type="button" class="chip" aria-pressed={skills.includes(skill) ? 'true' : 'false'} onClick={() => toggle(skill)}>
                {skills.includes(skill) && <span aria-hidden="true">✓</span>}
                {typeLabel(skill)}
              </button>
            ))}
          </div>
        </fieldset>
        {error && <p class="error" role="alert">{error}</p>}
        <button class="primary" type="submit" disabled={busy}>{busy ? 'Saving…' : 'Create my profile'}</button>
      </form>
    </section>
  );
}
