/** Task types as an operator would name them (the API's codes never reach the screen). */
const NAMES: Record<string, string> = {
  VERIFICATION: 'Check a place',
  PHOTO: 'Take photos',
  DELIVERY: 'Delivery',
  INSPECTION: 'Inspection',
  CAPTCHA_SOLVING: 'Solve a captcha',
  FORM_FILLING: 'Fill in a form',
  BROWSER_INTERACTION: 'Steps on a website',
  CONTENT_REVIEW: 'Review content',
  DATA_VALIDATION: 'Check data',
  ACCOUNT_CREATION: 'Create an account',
  API_KEY_PROCUREMENT: 'Get an API key',
  PHONE_VERIFICATION: 'Verify a phone number',
  SUBSCRIPTION_SETUP: 'Set up a subscription',
};

/** Every task type the API knows, in the order people meet them (physical first). */
export const TASK_TYPE_CODES = Object.keys(NAMES);

/** The name of a task type; an unknown (newer) type reads as its words in sentence case. */
export const typeName = (type: string) => NAMES[type] ?? type.charAt(0) + type.slice(1).toLowerCase().replace(/_/g, ' ');
