/** Who posted the task and their record, so the operator knows who they would work for. */
import type { RequesterRecord } from '@humanops/sdk/operator';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** The record in sentences; what is not known yet is said so. */
export function requesterFacts(r: RequesterRecord): string[] {
  return [
    plural(r.tasks_posted, 'task posted', 'tasks posted'),
    r.approval_rate === null ? 'No proof judged yet' : `Pays for ${Math.round(r.approval_rate * 100)}% of proofs`,
    r.median_review_minutes === null ? 'No review time yet'
      : r.median_review_minutes < 60 ? `Usually pays within ${Math.max(1, Math.round(r.median_review_minutes))} min`
      : `Usually pays within ${Math.round(r.median_review_minutes / 60)} h`,
    plural(r.disputes_lost, 'dispute lost', 'disputes lost'),
    r.rating === null ? 'Not rated by operators yet' : `Rated ${r.rating.toFixed(1)} of 5 by ${plural(r.rating_count, 'operator', 'operators')}`,
  ];
}

export function RequesterCard({ requester }: { requester: RequesterRecord }) {
  return (
    <>
      <dt>Posted by</dt>
      <dd>
        <strong>{requester.name}</strong>
        <ul class="requester-facts">{requesterFacts(requester).map((fact) => <li>{fact}</li>)}</ul>
      </dd>
    </>
  );
}
