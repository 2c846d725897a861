/**
 * Every API error the app can meet, as a sentence a person understands, keyed by the API's `code`
 * (then by status). Raw JSON never reaches the screen.
 */
import { APIConnectionError, HumanOpsError } from '@humanops/sdk/operator';

const BY_CODE: Record<string, string> = {
  task_unavailable: 'Someone else accepted this task first. Pick another one from the feed.',
  task_expired: 'This task has passed its deadline, so it can no longer be done.',
  kyc_required: 'Your identity check is not finished yet, so you cannot accept tasks. We will let you know as soon as it is done.',
  operator_not_registered: 'Finish setting up your profile first.',
  operator_exists: 'You already have a profile.',
  unauthenticated: 'Your session has ended. Please sign in again.',
  unauthorized: 'Your session has ended. Please sign in again.',
  invalid_token: 'Your session has ended. Please sign in again.',
  not_signed_in: 'Please sign in first.',
  identity_provider_unavailable: 'Sign-in is not reachable right now. Try again in a minute.',
  task_not_found: 'This task is no longer available.',
  task_not_in_progress: 'This task is not open for proof any more.',
  invalid_transition: 'This task has moved on and cannot do that now. Pull to refresh.',
  proof_exists: 'Proof for this task was already sent.',
  too_many_files: 'That is the most photos one task can take.',
  unknown_photo: 'One of the photos was not uploaded from this account. Remove it and add it again.',
  file_too_large: 'This photo is too big to upload. Take it again at a lower resolution.',
  payload_too_large: 'That is too much to send at once.',
  unsupported_file_type: 'This file is not a photo we can use. Use a JPEG, PNG, WebP or HEIC image.',
  invalid_form: 'The photo could not be sent. Try again.',
  storage_unavailable: 'Photo uploads are not available right now. Your photos stay on this phone; try again later.',
  insufficient_available_balance: 'You do not have that much available to withdraw yet.',
  insufficient_balance: 'You do not have that much available to withdraw yet.',
  payouts_unavailable: 'Payouts are not available yet. Your earnings stay safe in your available balance.',
  payout_not_found: 'We could not find that payout.',
  payout_address_required: 'Set your payout address first (below), then ask for the payout again.',
  daily_payout_cap_reached: 'That is more than you may pay out in 24 hours. Try a smaller amount, or again tomorrow.',
  invalid_address: 'That is not a Base address, or a character is wrong. Copy it again from your wallet.',
  signature_invalid: 'The signature does not match this address and the latest message. Get the message again and sign it with this address.',
  challenge_expired: 'The message to sign has expired or was already used. Get a new one and sign it.',
  zero_address_refused: 'That address cannot receive payouts. Use an address of your own wallet.',
  platform_address_refused: 'That address belongs to HumanOps. Use an address of your own wallet.',
  deposit_address_refused: 'That is a HumanOps deposit address. Use an address of your own wallet.',
  thread_closed: 'This conversation is closed: the task was taken by someone else or has ended.',
  rate_limited: 'Too many tries in a short time. Wait a minute and try again.',
  database_unavailable: 'We are having trouble on our side. Try again in a moment.',
  try_again: 'We are having trouble on our side. Try again in a moment.',
  api_unreachable: 'The service is not reachable. Check your connection and try again.',
  route_not_found: 'This app needs an update. Reload the page.',
  invalid_json: 'The app sent something the service could not read. Reload the page and try again.',
  unsupported_media_type: 'The app sent something the service could not read. Reload the page and try again.',
  invalid_input: 'The app sent something the service could not read. Reload the page and try again.',
  invalid_content_type: 'The app sent something the service could not read. Reload the page and try again.',
  unreadable_body: 'What was sent arrived incomplete. Check your connection and try again.',
  idempotency_key_reused: 'That was already sent with different details. Reload the page and try again.',
  invalid_idempotency_key: 'The app sent something the service could not read. Reload the page and try again.',
  internal_error: 'Something went wrong on our side. Try again in a moment.',
};

/**
 * A refused field as a sentence: "Amount must be at least $10.00." from the API's
 * `amount_usd: must be at least $10.00` (its details list every field; each gets its sentence).
 */
function validationWords(error: HumanOpsError): string {
  const issues = (error.details as { issues?: { field: string | null; message: string }[] } | undefined)?.issues
    ?? error.message.split('; ').map((part) => {
      const [field, ...rest] = part.split(': ');
      return rest.length ? { field, message: rest.join(': ') } : { field: null, message: part };
    });
  const sentences = issues.map(({ field, message }) => {
    const name = (field ?? '').split('.').filter((part) => !/^\d+$/.test(part)).at(-1)?.replace(/_(usd|km)$/, '').replace(/_/g, ' ');
    const sentence = name ? `${name} ${message}` : `What was sent ${message}`;
    return `${sentence.charAt(0).toUpperCase()}${sentence.slice(1)}${/[.!?]$/.test(sentence) ? '' : '.'}`;
  });
  return [...new Set(sentences)].join(' ');
}

/** A sentence for any error thrown while talking to the API. */
export function explain(error: unknown): string {
  if (error instanceof APIConnectionError) return 'No connection. Check your signal and try again; nothing you entered is lost.';
  if (error instanceof HumanOpsError) {
    if (error.code && BY_CODE[error.code]) return BY_CODE[error.code];
    if (error.code === 'validation_error') return validationWords(error);
    if (error.status === 400) return BY_CODE.invalid_input;
    if (error.status === 401) return BY_CODE.unauthenticated;
    if (error.status === 429) return BY_CODE.rate_limited;
    if ((error.status ?? 0) >= 500) return BY_CODE.internal_error;
  }
  return 'Something went wrong. Try again.';
}

/**
 * What each of the Guardian's rule checks is about, as an operator thinks of it; the check's own
 * note (which names the photo by its number) follows.
 */
export const REASON_TOPICS: Record<string, string> = {
  proof_type: 'Kind of proof',
  confirmation_text: 'Confirmation',
  artifact: 'Credentials',
  images_exist: 'Photos received',
  image_count: 'Number of photos',
  gps_location: 'Where the photo was taken',
  capture_time: 'When the photo was taken',
  photo_metadata: 'Photo details',
  image_content: 'What the photo shows',
  photo_reuse: 'Photo used before',
  instruction_text: 'Text addressed to the checker',
};

/** One of the Guardian's reasons as a sentence: its topic, then what was found. */
export function reasonWords(reason: { check: string; note: string; hard: boolean }): string {
  const topic = REASON_TOPICS[reason.check] ?? 'Check';
  const note = /[.!?]$/.test(reason.note) ? reason.note : `${reason.note}.`;
  return `${topic}: ${note}${reason.hard ? '' : ' The requester will look at this.'}`;
}

/** Words for a task's status, as an operator thinks of it. */
export const STATUS_WORDS: Record<string, string> = {
  PENDING: 'Open',
  ACCEPTED: 'Accepted',
  IN_PROGRESS: 'In progress',
  SUBMITTED: 'Sent: your proof is being checked',
  VERIFIED: 'Your proof passed the checks',
  MANUAL_REVIEW: 'The requester is looking at your proof',
  COMPLETED: 'Done: paid into your pending earnings',
  DISPUTED: 'Your proof was not accepted',
  CANCELLED: 'The requester cancelled this task',
  EXPIRED: 'The deadline passed',
};

/** A task's status in a word or two, for a badge. */
export const STATUS_SHORT: Record<string, string> = {
  PENDING: 'Open',
  ACCEPTED: 'Accepted',
  IN_PROGRESS: 'In progress',
  SUBMITTED: 'Being checked',
  VERIFIED: 'Being checked',
  MANUAL_REVIEW: 'With the requester',
  COMPLETED: 'Done',
  DISPUTED: 'Not accepted',
  CANCELLED: 'Cancelled',
  EXPIRED: 'Expired',
};
