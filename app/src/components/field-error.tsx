/** A field's problem, under the field, named by the id its input's aria-describedby points to. */
import type { FieldErrors } from '../form-errors.ts';

export function FieldError({ errors, id }: { errors: FieldErrors; id: string }) {
  return errors[id] ? <p id={`${id}-error`} class="error field-error">{errors[id]}</p> : null;
}

/** Every problem of a form at once, at its submit button, each a link to its field. */
export function ErrorSummary({ errors, labels }: { errors: FieldErrors; labels: Record<string, string> }) {
  const ids = Object.keys(errors);
  if (ids.length === 0) return null;
  return (
    <div class="error-box" role="alert">
      <p>{ids.length === 1 ? 'One thing to fix:' : `${ids.length} things to fix:`}</p>
      <ul>
        {ids.map((id) => <li key={id}><a href={`#${id}`} onClick={(event) => {
          // The route lives in the hash: focus the field instead of navigating.
          event.preventDefault();
          document.getElementById(id)?.focus();
        }}>{labels[id] ?? id}</a>: {errors[id]}</li>)}
      </ul>
    </div>
  );
}
