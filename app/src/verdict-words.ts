/**
 * The proof checker's verdict in an operator's words. Without a model the API says so in words
 * meant for the requester's developers ("no model configured"); the operator learns instead that
 * a person will look, and reads what the rules found in the reasons list.
 */
const RULES_ONLY = /^Checked by rules only \(no model configured\)[^.]*\.\s*/;
const NOT_JUDGED = /no model configured/;

/** The model's reasoning when a model judged (the rules' own findings are listed apart); else null. */
export function verdictReasoning(reasoning: string | null): string | null {
  if (!reasoning) return null;
  if (!RULES_ONLY.test(reasoning)) return reasoning;
  return null;
}

/** A requirement's note: what the model saw, or that the requester checks it. */
export const requirementNote = (note: string) => (NOT_JUDGED.test(note) ? 'The requester will check this.' : note);
