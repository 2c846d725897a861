/**
 * The operator's profile as a form, for registering and for editing: every problem is listed at the
 * submit button and marked on its field, whether the form found it or the API did.
 */
import { TASK_TYPES } from '@humanops/sdk/operator';
import { useState } from 'preact/hooks';
import { type FieldErrors, marked, refusedFields } from '../form-errors.ts';
import { explain } from '../messages.ts';
import { check, fieldOf, LABELS, PROBLEMS, type ProfileValues } from '../profile-rules.ts';
import { typeName } from '../task-types.ts';
import { ErrorSummary, FieldError } from './field-error.tsx';
import { HomeAreaField } from './home-area-field.tsx';

export function ProfileForm({ initial, withEmail, submitLabel, busyLabel, onSave, onCancel }: {
  initial: ProfileValues; withEmail: boolean; submitLabel: string; busyLabel: string;
  onSave: (values: ProfileValues) => Promise<void>; onCancel?: () => void;
}) {
  const [values, setValues] = useState(initial);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  /** Editing a field clears its problem: a stale message would point at something already fixed. */
  const edit = (change: Partial<ProfileValues>) => {
    setValues({ ...values, ...change });
    const fixed = Object.keys(change).filter((id) => errors[id]);
    if (fixed.length) setErrors(Object.fromEntries(Object.entries(errors).filter(([id]) => !fixed.includes(id))));
    setFailure(null);
  };
  const text = (id: 'name' | 'email' | 'phone' | 'city' | 'country' | 'travel', hint?: string) => ({
    id,
    value: values[id],
    onInput: (event: Event) => edit({ [id]: (event.currentTarget as HTMLInputElement).value }),
    ...marked(errors, id, hint),
  });
  const toggle = (skill: string) => edit({ skills: values.skills.includes(skill) ? values.skills.filter((s) => s !== skill) : [...values.skills, skill] });

  const submit = async (event: Event) => {
    event.preventDefault();
    const found = check(values, withEmail);
    setErrors(found);
    setFailure(null);
    if (Object.keys(found).length) return;
    setBusy(true);
    try {
      await onSave(values);
    } catch (error) {
      const refused = refusedFields(error, fieldOf, PROBLEMS);
      if (refused) setErrors(refused);
      else setFailure(explain(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} noValidate>
      <label for="name">{LABELS.name}</label>
      <input {...text('name')} autocomplete="name" required maxLength={100} />
      <FieldError errors={errors} id="name" />
      {withEmail && (
        <>
          <label for="email">{LABELS.email}</label>
          <input {...text('email')} type="email" autocomplete="email" required />
          <FieldError errors={errors} id="email" />
        </>
      )}
      <label for="phone">{LABELS.phone} <span class="muted">(optional)</span></label>
      <input {...text('phone')} type="tel" autocomplete="tel" placeholder="+1 555 123 4567" />
      <FieldError errors={errors} id="phone" />
      <label for="city">{LABELS.city}</label>
      <input {...text('city')} autocomplete="address-level2" required maxLength={100} />
      <FieldError errors={errors} id="city" />
      <label for="country">{LABELS.country}</label>
      <input {...text('country', 'country-hint')} autocomplete="country" required maxLength={2} placeholder="US" />
      <p id="country-hint" class="hint">Two letters, such as US, GB or ES.</p>
      <FieldError errors={errors} id="country" />
      <HomeAreaField home={values.home} onChange={(home) => edit({ home })} errors={errors} locateAtOnce={withEmail}
        onProblem={(problem) => setErrors(problem ? { ...errors, home: problem } : Object.fromEntries(Object.entries(errors).filter(([id]) => id !== 'home')))} />
      <label for="travel">{LABELS.travel} <span class="muted">(km, optional)</span></label>
      <input {...text('travel', 'travel-hint')} type="number" inputMode="numeric" min="1" max="500" step="1" />
      <p id="travel-hint" class="hint">Requesters searching farther from your home area than this will not see you.</p>
      <FieldError errors={errors} id="travel" />
      <fieldset id="skills" tabIndex={-1}>
        <legend>{LABELS.skills} <span class="muted">(none chosen: you see every task)</span></legend>
        <div class="chips">
          {TASK_TYPES.map((skill) => (
            <button type="button" class="chip" aria-pressed={values.skills.includes(skill) ? 'true' : 'false'} onClick={() => toggle(skill)}>
              {values.skills.includes(skill) && <span aria-hidden="true">✓</span>}
              {typeName(skill)}
            </button>
          ))}
        </div>
        <FieldError errors={errors} id="skills" />
      </fieldset>
      <ErrorSummary errors={errors} labels={LABELS} />
      {failure && <p class="error" role="alert">{failure}</p>}
      <button class="primary" type="submit" disabled={busy}>{busy ? busyLabel : submitLabel}</button>
      {onCancel && <button type="button" onClick={onCancel} disabled={busy}>Cancel</button>}
    </form>
  );
}
