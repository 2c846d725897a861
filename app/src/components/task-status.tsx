/** Where a submitted task stands, with what the checks found once they have judged the proof. */
import type { OperatorTask } from '@humanops/sdk/operator';
import { reasonWords } from '../messages.ts';
import { outcomeWords } from '../outcome-words.ts';
import { requirementNote, verdictReasoning } from '../verdict-words.ts';

export function TaskStatus({ task }: { task: OperatorTask }) {
  const verdict = task.guardian_result;
  const reasoning = verdictReasoning(verdict?.reasoning ?? null);
  return (
    <section class="status-panel" aria-labelledby="status-title">
      <h2 id="status-title">Status</h2>
      <p role="status" aria-live="polite" class={`status-line s-${task.status.toLowerCase()}`}>{outcomeWords(task)}</p>
      {verdict && (
        <>
          {reasoning && <p class="text">{reasoning}</p>}
          {verdict.reasons?.length > 0 && (
            <ul class="reasons" aria-label="What the checks found">
              {verdict.reasons.map((reason) => <li>{reasonWords(reason)}</li>)}
            </ul>
          )}
          {verdict.requirement_results.length > 0 && (
            <ul class="verdicts">
              {verdict.requirement_results.map((result) => (
                <li>
                  <span aria-hidden="true">{result.met === true ? '✔' : result.met === false ? '✘' : '?'}</span>{' '}
                  <strong>{result.requirement}</strong>
                  <span class="visually-hidden">{result.met === true ? ' met' : result.met === false ? ' not met' : ' not judged'}</span>
                  {result.note && <>: {requirementNote(result.note)}</>}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
