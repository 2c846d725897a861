/**
 * A form's problems, one sentence per field, keyed by the field's element id: what the form checks
 * itself, and what the API refused (its `details.issues`, mapped back to the field they are about).
 */
import { HumanOpsError } from '@humanops/sdk/operator';

export type FieldErrors = Record<string, string>;

/**
 * The fields the API refused, as the form's ids with the form's own sentence for each; null when the
 * error is not about fields (say no connection), for the caller to explain on its own.
 */
export function refusedFields(error: unknown, idOf: (apiField: string) => string | undefined, sentences: Record<string, string>): FieldErrors | null {
  if (!(error instanceof HumanOpsError) || error.code !== 'validation_error') return null;
  const issues = (error.details as { issues?: { field: string | null }[] } | undefined)?.issues ?? [];
  const errors: FieldErrors = {};
  for (const issue of issues) {
    const id = issue.field === null ? undefined : idOf(issue.field);
    if (id && sentences[id]) errors[id] = sentences[id];
  }
  return Object.keys(errors).length ? errors : null;
}

/** What an input needs to be marked by its error: aria-invalid, and the error among what describes it. */
export function marked(errors: FieldErrors, id: string, hint?: string) {
  const described = [hint, errors[id] ? `${id}-error` : undefined].filter(Boolean).join(' ');
  return { 'aria-invalid': errors[id] ? ('true' as const) : undefined, 'aria-describedby': described || undefined };
}
