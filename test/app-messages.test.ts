// The operator app never shows raw API errors: every code an operator's requests can meet has a
// sentence of its own, and validation errors keep the API's plain-words field message.
import { describe, expect, it } from 'vitest';
import { APIConnectionError, HumanOpsError } from '@humanops/sdk/operator';
import { explain } from '../app/src/messages.ts';

/** Codes the operator routes, their middleware and the SQL functions they call can answer with. */
const OPERATOR_CODES: [number, string][] = [
  [400, 'invalid_json'], [400, 'invalid_input'], [400, 'invalid_content_type'], [400, 'unreadable_body'], [400, 'invalid_form'],
  [400, 'unsupported_file_type'], [400, 'unknown_photo'], [400, 'invalid_idempotency_key'], [401, 'unauthorized'], [401, 'unauthenticated'],
  [401, 'invalid_token'], [402, 'insufficient_balance'], [402, 'insufficient_available_balance'], [403, 'kyc_required'],
  [403, 'operator_not_registered'], [404, 'task_not_found'], [404, 'payout_not_found'], [404, 'route_not_found'], [409, 'task_unavailable'],
  [409, 'task_not_in_progress'], [409, 'invalid_transition'], [409, 'too_many_files'], [409, 'proof_exists'], [409, 'operator_exists'],
  [409, 'idempotency_key_reused'], [410, 'task_expired'], [413, 'file_too_large'], [413, 'payload_too_large'], [415, 'unsupported_media_type'], [429, 'rate_limited'],
  [500, 'internal_error'], [503, 'database_unavailable'], [503, 'identity_provider_unavailable'], [503, 'storage_unavailable'],
  [503, 'payouts_unavailable'], [503, 'try_again'],
];

const GENERIC = 'Something went wrong. Try again.';

describe('the app explains every API error in words', () => {
  it.each(OPERATOR_CODES)('%i %s', (status, code) => {
    const sentence = explain(new HumanOpsError(`{"error":"RAW-${code}"}`, { status, code }));
    expect(sentence).not.toBe(GENERIC);
    expect(sentence).not.toMatch(/[{}]|RAW-/);
    expect(sentence).toMatch(/^[A-Z].*\.$/);
  });

  it('says every refused field of a validation error as a sentence, and names a lost connection', () => {
    expect(explain(new HumanOpsError('email: must be an email address', { status: 400, code: 'validation_error' }))).toBe('Email must be an email address.');
    const refused = new HumanOpsError('amount_usd: must be at least $10.00; location.country: is required', {
      status: 400, code: 'validation_error',
      details: { issues: [{ field: 'amount_usd', message: 'must be at least $10.00' }, { field: 'location.country', message: 'is required' }, { field: null, message: 'must be a JSON object' }] },
    });
    expect(explain(refused)).toBe('Amount must be at least $10.00. Country is required. What was sent must be a JSON object.');
    expect(explain(new HumanOpsError('nope', { status: 400, code: 'something_new' }))).not.toMatch(/nope|something_new/);
    expect(explain(new APIConnectionError('fetch failed'))).toMatch(/^No connection\./);
  });
});

describe("the app words every Guardian reason", () => {
  it('has a topic for every rule check, and keeps the note that names the photo', async () => {
    const { CHECK_NAMES } = await import('../functions/_shared/guardian/rules.ts');
    const { REASON_TOPICS, reasonWords } = await import('../app/src/messages.ts');
    expect(Object.keys(REASON_TOPICS).sort()).toEqual([...CHECK_NAMES].sort());
    expect(reasonWords({ check: 'gps_location', note: 'Photo 2 was taken 5 km from the task location (limit 1 km)', hard: true }))
      .toBe('Where the photo was taken: Photo 2 was taken 5 km from the task location (limit 1 km).');
    expect(reasonWords({ check: 'photo_metadata', note: 'Photo 1 names no camera maker, which photos straight from a phone or camera do', hard: false }))
      .toBe('Photo details: Photo 1 names no camera maker, which photos straight from a phone or camera do. The requester will look at this.');
  });
});

describe('the app words the checker\'s verdict', () => {
  it('never shows that no model is configured: a person will look, and the rules\' findings are listed apart', async () => {
    const { combineVerdict } = await import('../functions/_shared/guardian/verdict.ts');
    const { requirementNote, verdictReasoning } = await import('../app/src/verdict-words.ts');
    const failed = { check: 'gps_location', passed: false, hard: true, note: 'Photo 2 was taken 6.5 km from the task location (limit 1 km)' };
    for (const checks of [[], [failed]]) {
      const verdict = combineVerdict(checks as never, null, ['The sign is readable'], { approve: 85, review: 50 }, null);
      expect(verdict.reasoning).toMatch(/no model configured/);
      expect(verdictReasoning(verdict.reasoning)).toBeNull();
      for (const result of verdict.requirement_results) expect(requirementNote(result.note)).toBe('The requester will check this.');
    }
    expect(verdictReasoning('The sign is in the photo.')).toBe('The sign is in the photo.');
  });
});
