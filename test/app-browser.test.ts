// The operator app as a person with a phone uses it: Debian's Chromium (playwright-core) at a phone
// viewport with a fixed location, against the real stack, the Guardian answered by the model
// stand-in, and axe-core in the page on every screen. One browser and one stack for the file. The app
// is served as `npm start -- --lan` serves it to a phone: over HTTPS, with a certificate from the
// local certificate authority, which the browser trusts by its key (as a phone that installed it).
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HumanOpsClient } from '@humanops/sdk';
import { PROOF_TYPES, TASK_STATUSES, TASK_TYPES } from '../sdk/src/contract/categories.ts';
import { type StandIn, startAnthropicStandIn, toolAnswer } from './helpers/anthropic-stand-in.ts';
import { localOperatorId, type OperatorApp, startOperatorApp } from './helpers/app.ts';
import { makeJpeg } from './helpers/images.ts';
import { vapidEnv, vapidKeys } from './helpers/push-service.ts';
import { CHROMIUM_PATH, needsChromium } from './helpers/requirements.ts';
import { type Agent, type Stack, operatorToken, startStack } from './helpers/stack.ts';

const CHROMIUM = CHROMIUM_PATH;
const AXE = readFileSync(new URL('../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
const SCREENSHOTS = process.env.HUMANOPS_SCREENSHOTS === '1' ? new URL('../docs/screenshots/', import.meta.url).pathname : null;

/** Where the phone is: a street corner in Manhattan. */
const HERE = { latitude: 40.7128, longitude: -74.006 };
/** How long a poll waits for the page to catch up (the machine may be busy). */
const POLL = { timeout: 15_000 };
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
/** The stack's VAPID key pair, as `npm start` makes one at first start. */
const VAPID = vapidKeys();

/**
 * Chromium's own PushManager.subscribe needs its push service (Google's FCM) on the network, which a
 * test offline cannot reach: the page gets this stand-in instead, which records what the app asked
 * for and hands back a subscription as the browser would. Notification.requestPermission is counted.
 */
const FAKE_PUSH = `(() => {
  const endpoint = 'https://push.example.test/push/' + 'browser-one';
  const subscription = {
    endpoint, expirationTime: null,
    toJSON: () => ({ endpoint, expirationTime: null, keys: { p256dh: '${vapidKeys().publicKey}', auth: 'AAAAAAAAAAAAAAAAAAAAAA' } }),
    unsubscribe: async () => { localStorage.removeItem('fake-push'); return true; },
  };
  window.__permissionAsks = 0;
  const ask = Notification.requestPermission.bind(Notification);
  Notification.requestPermission = (...args) => { window.__permissionAsks += 1; return ask(...args); };
  PushManager.prototype.subscribe = async function (options) {
    localStorage.setItem('fake-push', btoa(String.fromCharCode(...new Uint8Array(options.applicationServerKey))));
    return subscription;
  };
  PushManager.prototype.getSubscription = async function () { return localStorage.getItem('fake-push') ? subscription : null; };
})()`;

describe.skipIf(needsChromium.skipped)('the operator app in a real browser', () => {
  let standIn: StandIn;
  let stack: Stack;
  let app: OperatorApp;
  let browser: Browser;
  let agent: Agent;
  let agentClient: HumanOpsClient;

  beforeAll(async () => {
    needsChromium.assertAvailable();
    standIn = await startAnthropicStandIn();
    standIn.answer = ({ body }) => {
      const text: string = body.messages[0].content.at(-1).text;
      const data = JSON.parse(/<untrusted_data>\n([\s\S]*)\n<\/untrusted_data>/.exec(text)![1]);
      // A proof whose notes admit the wrong street is judged as a model would: not met.
      const met = !JSON.stringify(data).includes('wrong street');
      return toolAnswer({
        requirement_results: data.proof_requirements.map((requirement: string) => ({ requirement, met, note: met ? 'Clearly visible' : 'Another sign' })),
        confidence: met ? 96 : 10,
        reasoning: met ? 'The sign is in the photo, taken at the address during the task.' : 'The photo shows another sign.',
      });
    };
    // The 7-day hold of live mode (test mode releases earnings at once), so the app shows pending earnings.
    stack = await startStack({
      env: { ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_BASE_URL: standIn.url, ANTHROPIC_MODEL: 'claude-test', ANTHROPIC_TIMEOUT_MS: '3000', EARNINGS_HOLD_SECONDS: '604800',
        ...vapidEnv(VAPID) },
    });
    app = await startOperatorApp(stack, { https: true });
    agent = await stack.registerAgent('app-agent');
    await stack.deposit(agent, 3000);
    agentClient = new HumanOpsClient({ apiKey: agent.key, baseUrl: stack.url.replace(/\/api\/v1$/, '') });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
        `--ignore-certificate-errors-spki-list=${app.caSpkiHash}`],
    });
    if (SCREENSHOTS) mkdirSync(SCREENSHOTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await stack?.stop();
    await standIn?.stop();
  });

  const phone = (options: { geolocation?: boolean } = {}) => browser.newContext({
    ...PHONE,
    ...(options.geolocation === false ? {} : { geolocation: HERE, permissions: ['geolocation'] }),
  });

  /**
   * axe-core in the page: no serious or critical violation on what is on screen now. It is
   * evaluated through the debugging protocol: the app's CSP rightly refuses inline scripts.
   */
  async function expectAccessible(page: Page, screen: string) {
    if (!(await page.evaluate('typeof axe !== "undefined"'))) await page.evaluate(AXE);
    const violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] = await page.evaluate(
      "axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) })))");
    const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(bad, `${screen}: ${JSON.stringify(bad, null, 1)}`).toEqual([]);
    await expectPlainWords(page, screen);
  }

  /**
   * What a person reads, never the API's: no storage path of a proof file, no status or type in
   * capitals (MANUAL_REVIEW, MANUAL REVIEW, DISPUTED), no snake_case code, no internal name.
   */
  async function expectPlainWords(page: Page, screen: string) {
    const text: string = await page.evaluate(() => document.body.innerText);
    expect(text, `${screen} shows a storage path`).not.toMatch(/[\w.-]+\/(?:task_[A-Za-z0-9]+|unbound)\/[\w-]+\.[a-z]{3,4}/);
    expect(text, `${screen} shows capitals`).not.toMatch(/\b[A-Z]{2,}(?:[ _][A-Z]{2,})+\b/);
    expect(text, `${screen} shows an enum`).not.toMatch(new RegExp(`\\b(?:${[...TASK_STATUSES, ...TASK_TYPES, ...PROOF_TYPES].join('|')})\\b`));
    expect(text, `${screen} shows an API code`).not.toMatch(/\b[a-z]+(?:_[a-z]+)+\b/);
    expect(text, `${screen} shows an internal name`).not.toMatch(/Guardian|no model configured/i);
  }

  /** `locator` is on screen: below the top bar and above the bottom navigation (when there is one). */
  async function expectInView(page: Page, locator: ReturnType<Page['locator']>) {
    await expect.poll(async () => {
      const box = await locator.boundingBox();
      const top = (await page.locator('header.top').boundingBox())!;
      const bottomNav = await page.getByRole('navigation', { name: 'Main' }).boundingBox();
      const floor = bottomNav && bottomNav.y > top.y + top.height ? bottomNav.y : page.viewportSize()!.height;
      return box !== null && box.y >= top.y + top.height && box.y + box.height <= floor;
    }, POLL).toBe(true);
  }

  /** Signs in through the local sign-in screen; returns the operator id the app's token carries. */
  async function signIn(page: Page, email = `op-${randomBytes(4).toString('hex')}@example.com`) {
    await page.goto(app.url);
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Sign in' }).click();
    return { email, operatorId: localOperatorId(email) };
  }

  /** An operator registered through the API (for scenarios that are not about registering). */
  /** Once the service worker controls the page (its shell is cached), cuts the network and reloads. */
  async function reloadOffline(page: Page) {
    await expect.poll(() => page.evaluate(() => Boolean(navigator.serviceWorker.controller)), { timeout: 10_000 }).toBe(true);
    await page.context().setOffline(true);
    await page.reload();
  }

  async function registeredOperator(page: Page) {
    const email = `op-${randomBytes(4).toString('hex')}@example.com`;
    const operatorId = localOperatorId(email);
    const reply = await stack.call('POST', '/operator/register', {
      headers: { authorization: `Bearer ${await operatorToken(operatorId)}` },
      body: { name: 'Sam Lee', email, location: { city: 'New York', country: 'US' }, skills: [] },
    });
    expect(reply.status).toBe(201);
    await signIn(page, email);
    await page.getByRole('heading', { name: 'Tasks', level: 1 }).waitFor();
    return operatorId;
  }

  const postTask = async (overrides: Record<string, unknown> = {}) => {
    const reply = await stack.createTask(agent, { title: `Check the sign ${randomBytes(3).toString('hex')}`, location: { lat: 40.7130, lng: -74.0059, address: '2 Park Row, New York' }, ...overrides });
    expect(reply.status).toBe(201);
    return reply.body.task_id as string;
  };

  const openTask = async (page: Page, taskId: string) => {
    await page.goto(`${app.url}/#/task/${taskId}`);
    await page.getByRole('heading', { level: 1 }).filter({ hasNotText: 'Tasks' }).waitFor();
  };

  const nav = (page: Page) => page.getByRole('navigation', { name: 'Main' });

  const photoFile = (name: string, bytes: Uint8Array) => ({ name, mimeType: 'image/jpeg', buffer: Buffer.from(bytes) });

  it('sign in → register → find a nearby task → accept → upload a GPS-stamped photo → submit → the Guardian completes it → earnings pending', async () => {
    const title = 'Photograph the storefront sign';
    const taskId = await postTask({ title, reward_usd: 25, description: 'Take a clear photo of the shop sign above the door, from across the street.' });
    const farther = await postTask({ title: 'Check the opening hours on the door', reward_usd: 18, location: { lat: 40.7200, lng: -74.0000, address: '100 Church St, New York' } });
    const farthest = await postTask({ title: 'Photograph the lobby directory', task_type: 'PHOTO', reward_usd: 40, location: { lat: 40.7306, lng: -73.9866, address: '3 Astor Pl, New York' } });
    const context = await phone();
    const page = await context.newPage();
    await page.goto(app.url);
    await expectAccessible(page, 'sign-in');
    await signIn(page);

    await page.getByRole('heading', { name: 'Set up your profile' }).waitFor();
    await expectAccessible(page, 'register');
    await page.getByLabel('Full name').fill('Jordan Diaz');
    await page.getByLabel('Phone').fill('+1 212 555 0100');
    await page.getByLabel('City').fill('New York');
    await page.getByLabel('Country code').fill('US');
    await page.getByRole('button', { name: 'Check a place', exact: true }).click();
    await page.getByRole('button', { name: 'Take photos', exact: true }).click();
    expect(await page.getByRole('button', { name: 'Check a place', exact: true }).getAttribute('aria-pressed')).toBe('true');
    await page.getByRole('button', { name: 'Create my profile' }).click();

    await page.getByRole('heading', { name: 'Tasks', level: 1 }).waitFor();
    const card = page.getByRole('link', { name: new RegExp(title) });
    await card.waitFor();
    await expect.poll(() => card.textContent(), POLL).toMatch(/\$25\.00.*Check a place.*m away.*left/);
    // Nearest first.
    const hrefs = await page.locator('.cards a').evaluateAll((links) => links.map((a) => a.getAttribute('href')));
    expect(hrefs.indexOf(`#/task/${taskId}`)).toBeLessThan(hrefs.indexOf(`#/task/${farther}`));
    expect(hrefs.indexOf(`#/task/${farther}`)).toBeLessThan(hrefs.indexOf(`#/task/${farthest}`));
    await expectAccessible(page, 'feed');
    if (SCREENSHOTS) await page.screenshot({ path: `${SCREENSHOTS}feed.png` });

    await card.click();
    await page.getByRole('heading', { name: title }).waitFor();
    await expect.poll(() => page.getByRole('link', { name: 'Open in maps' }).getAttribute('href'), POLL).toContain('mlat=40.713');
    await expectAccessible(page, 'task detail');
    if (SCREENSHOTS) await page.screenshot({ path: `${SCREENSHOTS}task.png`, fullPage: true });
    await page.getByRole('button', { name: 'Accept this task' }).click();
    await expectInView(page, page.getByRole('button', { name: 'Start task' }));
    await page.getByRole('button', { name: 'Start task' }).click();

    // Asking to submit before adding a photo says so, and adding one clears it.
    await page.getByRole('button', { name: 'Submit proof' }).click();
    await expectInView(page, page.getByText('Add at least one photo first.'));
    const photo = makeJpeg({ lat: 40.7129, lng: -74.0058, takenAt: new Date() });
    await page.getByLabel('Take a photo').setInputFiles(photoFile('sign.jpg', photo));
    await page.getByText('Photo 1 uploaded').waitFor();
    expect(await page.getByText('Add at least one photo first.').count()).toBe(0);
    expect(await page.locator('.warning').count()).toBe(0);
    await page.getByLabel('Notes for the requester').fill('Sign is above the door.');
    await expectAccessible(page, 'proof');
    await page.getByRole('button', { name: 'Submit proof' }).click();
    await page.getByText('Sent: your proof is being checked').waitFor();

    // The stored photo is byte for byte what the camera gave (EXIF GPS and time kept).
    const [file] = await stack.sql`select path from proof_files where task_id = ${taskId}`;
    const agentView = await agentClient.tasks.proofPhotos(taskId);
    expect(file.path).toBeTruthy();
    expect(Buffer.from(agentView[0].data).equals(Buffer.from(photo))).toBe(true);

    await stack.tick();
    await page.locator('.status-line', { hasText: 'Done: paid into your pending earnings' }).waitFor({ timeout: 15_000 });
    await page.getByText('The sign is in the photo, taken at the address during the task.').waitFor();
    // A closed task shows its outcome where the countdown was, and its deadline to the minute.
    const deadline = page.locator('dt:text-is("Deadline") + dd');
    expect(await deadline.textContent()).toContain('Done: paid into your pending earnings');
    expect(await deadline.textContent()).not.toMatch(/left|\d:\d\d:\d\d/);
    await expectAccessible(page, 'status');

    await nav(page).getByRole('link', { name: 'My tasks' }).click();
    await page.getByRole('heading', { name: 'Done' }).waitFor();
    await expectAccessible(page, 'my tasks');
    await nav(page).getByRole('link', { name: 'Earnings' }).click();
    await expect.poll(() => page.getByTestId('pending').textContent(), POLL).toBe('$25.00');
    await page.getByLabel(/Amount in USD/).fill('5');
    await page.getByRole('button', { name: 'Request payout' }).click();
    await page.getByText('The smallest payout is $10.00.').waitFor();
    await expectAccessible(page, 'earnings');
    await nav(page).getByRole('link', { name: 'Profile' }).click();
    await page.getByText('Verified', { exact: true }).waitFor();
    await expectAccessible(page, 'profile');
    await context.close();
  });

  it('a rejection with its reason → new proof → approved; a second rejection → an appeal; a task handed back; the requester and its record shown', async () => {
    const context = await phone();
    const page = await context.newPage();
    const operatorId = await registeredOperator(page);
    const operator = { id: operatorId, auth: { authorization: `Bearer ${await operatorToken(operatorId)}` } };
    const reason = 'The photo shows the bakery next door, not the pharmacy. Take it from across the street.';

    // Rejected with a reason; the operator reads it, sends new proof, and the checks approve it.
    const first = await postTask({ title: 'Photograph the pharmacy sign' });
    await openTask(page, first);
    await page.getByText('Posted by').waitFor();
    expect(await page.locator('dt:text-is("Posted by") + dd').textContent()).toMatch(/app-agent.*tasks? posted/);
    await page.getByRole('button', { name: 'Accept this task' }).click();
    await page.getByRole('button', { name: 'Start task' }).click();
    await page.getByLabel('Take a photo').setInputFiles(photoFile('first.jpg', makeJpeg({ lat: 40.7129, lng: -74.0058, takenAt: new Date(), scene: 21 })));
    await page.getByText('Photo 1 uploaded').waitFor();
    await page.getByRole('button', { name: 'Submit proof' }).click();
    await page.getByText('Sent: your proof is being checked').waitFor();
    await agentClient.tasks.verify(first, 'REJECT', reason);
    await page.locator('.status-line', { hasText: 'Not accepted yet: you can send new proof once' }).waitFor(POLL);
    await page.getByText(reason).waitFor();
    await expectAccessible(page, 'not accepted, with its reason');
    await page.getByLabel('Take a photo').setInputFiles(photoFile('second.jpg', makeJpeg({ lat: 40.7129, lng: -74.0058, takenAt: new Date(), scene: 22 })));
    await page.getByText('Photo 1 uploaded').waitFor();
    await page.getByRole('button', { name: 'Send new proof' }).click();
    await page.getByText('Sent: your proof is being checked').waitFor();
    await stack.tick();
    await page.locator('.status-line', { hasText: 'Done: paid into your pending earnings' }).waitFor({ timeout: 15_000 });
    await expectAccessible(page, 'approved after new proof');
    // Each side rates the other: the operator reads the requester's comment and rates it back.
    await agentClient.tasks.rate(first, 5, 'Clear photo, thank you');
    await page.reload();
    await page.getByText('Clear photo, thank you').waitFor();
    await page.getByRole('button', { name: 'Rate the requester' }).click();
    await page.getByText('Pick a rating from 1 to 5.').waitFor();
    await page.getByLabel('4', { exact: true }).check();
    await page.getByRole('button', { name: 'Rate the requester' }).click();
    await page.getByText('You rated the requester 4 of 5.').waitFor();
    await expectAccessible(page, 'ratings');

    // Rejected again after new proof: the operator appeals.
    const second = await postTask({ title: 'Photograph the clinic sign' });
    const send = async (path: string, body: unknown) => expect((await stack.call('POST', path, { headers: operator.auth, body })).status).toBe(200);
    await send(`/operator/tasks/${second}/accept`, {});
    await send(`/operator/tasks/${second}/submit`, { photos: [(await stack.upload(operator, second, makeJpeg({ lat: 40.7129, lng: -74.0058, takenAt: new Date(), scene: 23 }))).body.path] });
    await agentClient.tasks.verify(second, 'REJECT', 'The sign is cut off.');
    // The Guardian disputes the new proof, and the requester confirms that.
    await send(`/operator/tasks/${second}/resubmit`, {
      photos: [(await stack.upload(operator, second, makeJpeg({ lat: 40.7129, lng: -74.0058, takenAt: new Date(), scene: 24 }))).body.path],
      notes: 'Taken from the wrong street, sorry',
    });
    await stack.tick();
    expect((await agentClient.tasks.retrieve(second)).status).toBe('DISPUTED');
    await agentClient.tasks.verify(second, 'REJECT', 'Still cut off on the left.');
    await openTask(page, second);
    await page.locator('.status-line', { hasText: 'Not accepted again: you can appeal' }).waitFor(POLL);
    await page.getByText('The sign is cut off.').waitFor();
    await page.getByText('Still cut off on the left.').waitFor();
    // The operator knows how long it has to appeal before the reward goes back.
    await page.locator('.review .notice', { hasText: /^The requester agreed with this\. Unless you appeal by .+, the reward goes back to them\.$/ }).waitFor();
    await page.getByRole('button', { name: 'Send appeal' }).click();
    expect(await page.getByLabel('Why your proof shows the task done').getAttribute('aria-invalid')).toBe('true');
    await page.getByLabel('Why your proof shows the task done').fill('The whole sign is in the second photo.');
    await page.getByRole('button', { name: 'Send appeal' }).click();
    await page.locator('.status-line', { hasText: 'Appealed: an admin will look at it and decide' }).waitFor(POLL);
    await expectAccessible(page, 'appealed');
    await nav(page).getByRole('link', { name: 'My tasks' }).click();
    await page.getByRole('heading', { name: 'My tasks', level: 1 }).waitFor();
    await page.locator('.card', { hasText: 'Photograph the clinic sign' }).getByText('Appealed: an admin will look at it and decide').waitFor();
    expect(await page.locator('main').textContent()).not.toMatch(/cancel/i);
    await expectAccessible(page, 'my tasks after an appeal');

    // Handed back: open to others again.
    const third = await postTask({ title: 'Photograph the bank sign' });
    await openTask(page, third);
    await page.getByRole('button', { name: 'Accept this task' }).click();
    await page.getByRole('button', { name: 'I cannot do this task: hand it back' }).click();
    await expectAccessible(page, 'hand back?');
    await page.getByRole('button', { name: 'Hand it back', exact: true }).click();
    await page.getByText('You handed this task back. It is open to others again.').waitFor();
    await page.getByRole('button', { name: 'Accept this task' }).waitFor();
    expect((await stack.sql`select status, operator_id from tasks where id = ${third}`)[0]).toEqual({ status: 'PENDING', operator_id: null });
    await expectAccessible(page, 'handed back');
    await context.close();
  });

  it('is served over HTTPS with the local certificate authority\'s certificate: a secure context, so location and the service worker work', async () => {
    expect(app.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const context = await phone();
    const page = await context.newPage();
    const response = await page.goto(app.url);
    expect(response!.status()).toBe(200);
    expect(await page.evaluate(() => [location.protocol, window.isSecureContext])).toEqual(['https:', true]);
    expect(await page.evaluate(() => navigator.serviceWorker.ready.then((r) => Boolean(r.active)))).toBe(true);
    // The certificate authority a phone installs, served where the ready line says.
    const ca = await page.evaluate(() => fetch('/local/ca.crt').then(async (r) => [r.headers.get('content-type'), await r.text()]));
    expect(ca).toEqual(['application/x-x509-ca-cert', readFileSync(app.caFile!, 'utf8')]);
    await context.close();
  });

  it('losing an accept race says someone else got it (and task text is shown as text, never HTML)', async () => {
    const taskId = await postTask({ description: 'Photo of the sign <img src=x onerror="document.title=1"><b>now</b>' });
    const context = await phone();
    const page = await context.newPage();
    await registeredOperator(page);
    await openTask(page, taskId);
    await page.getByText('Photo of the sign <img src=x onerror="document.title=1"><b>now</b>').waitFor();
    expect(await page.locator('article b, article img').count()).toBe(0);
    // Fetched by the page itself: it trusts the local certificate authority as a phone that installed it.
    expect(await page.evaluate(() => fetch('/').then((r) => r.headers.get('content-security-policy')))).toContain("script-src 'self'");
    const rival = await stack.registerOperator();
    expect((await stack.call('POST', `/operator/tasks/${taskId}/accept`, { headers: rival.auth })).status).toBe(200);
    await page.getByRole('button', { name: 'Accept this task' }).click();
    const lost = page.getByText('Someone else accepted this task first. Pick another one from the feed.');
    await lost.waitFor();
    // Next to the button that caused it (just above it, on screen), and the button can no longer be pressed.
    await expectInView(page, lost);
    expect(await page.getByRole('button', { name: 'Accept this task' }).isDisabled()).toBe(true);
    expect(await page.locator('.actions .error-box + button').textContent()).toBe('Accept this task');
    await page.getByRole('link', { name: 'Find another task' }).waitFor();
    await expectAccessible(page, 'accept lost');
    await context.close();
  });

  it('the map: pins for nearby tasks (clustered when dense, none for digital ones), a tap into the task, a question, and the answer arriving', async () => {
    // Chicago, where no other test posts: every pin here is this test's.
    const chicago = { latitude: 41.8781, longitude: -87.6298 };
    const near = (dLat: number, dLng: number) => ({ lat: chicago.latitude + dLat, lng: chicago.longitude + dLng, address: 'Chicago' });
    const single = await postTask({ title: 'Photograph the bridge sign', reward_usd: 31, description: 'Use the provided details.', location: near(0.02, 0.02) });
    const dense = [];
    for (let i = 0; i < 3; i += 1) dense.push(await postTask({ title: `Check shelf ${i}`, description: 'Use the provided details.', location: near(-0.0008 * i, 0) }));
    const digital = (await stack.createTask(agent, { title: 'Review a listing', task_type: 'CONTENT_REVIEW', location: undefined, reward_usd: 12, proof_requirements: ['Assessment'] })).body.task_id;
    const context = await browser.newContext({ ...PHONE, geolocation: chicago, permissions: ['geolocation'] });
    const page = await context.newPage();
    await registeredOperator(page);
    await page.getByRole('button', { name: 'Map' }).click();
    const map = page.getByRole('region', { name: /Map of open tasks/ });
    await map.waitFor();
    // The tiles cannot load here (no network): the pins and the list work all the same.
    const pin = page.locator(`.map-pin[data-task-id="${single}"]`);
    await pin.waitFor(POLL);
    expect(await pin.getAttribute('role')).toBe('button');
    expect(await pin.getAttribute('tabindex')).toBe('0');
    expect(await pin.getAttribute('aria-label')).toBe('Photograph the bridge sign, $31.00: open the task');
    const cluster = page.locator('.map-cluster', { hasText: '3' });
    await cluster.waitFor(POLL);
    expect(await cluster.getAttribute('aria-label')).toBe('3 tasks here: zoom in');
    expect(await page.locator(`[data-task-id="${digital}"]`).count()).toBe(0);
    // A tap on a cluster zooms in to where it splits; a few taps give each task its own pin.
    for (let taps = 0; taps < 5 && (await page.locator('.map-cluster').count()) > 0; taps += 1) await page.locator('.map-cluster').first().click();
    for (const id of dense) await page.locator(`.map-pin[data-task-id="${id}"]`).waitFor(POLL);
    expect(await page.locator('.leaflet-control-attribution').textContent()).toContain('OpenStreetMap');
    // The list beside the map has every task the map has.
    for (const id of [single, ...dense]) expect(await page.locator(`.cards a[href="#/task/${id}"]`).count()).toBe(1);
    await expectAccessible(page, 'map');
    if (SCREENSHOTS) await page.screenshot({ path: `${SCREENSHOTS}map.png` });

    const [tapped] = dense;
    await page.locator(`.map-pin[data-task-id="${tapped}"]`).tap();
    await page.getByRole('heading', { name: 'Check shelf 0' }).waitFor();
    await page.getByRole('heading', { name: 'Questions to the requester' }).waitFor();
    await page.getByLabel('Ask the requester').fill('Which details? <img src=x onerror=alert(1)>');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByText('Which details? <img src=x onerror=alert(1)>').waitFor();
    expect(await page.locator('.messages img').count()).toBe(0);

    const { data } = await agentClient.tasks.messages(tapped);
    expect(data.map((m) => [m.from, m.text])).toEqual([['operator', 'Which details? <img src=x onerror=alert(1)>']]);
    await agentClient.tasks.sendMessage(tapped, { text: 'The top shelf, left of the door.', reply_to: data[0].message_id });
    // The open thread fetches the answer by itself.
    await page.getByText('The top shelf, left of the door.').waitFor(POLL);
    await expectAccessible(page, 'task thread');
    await context.close();
  });

  it('offers alerts only after a task is accepted, subscribes on the tap, shows a pushed alert, and signing out removes the subscription', async () => {
    const taskId = await postTask();
    const context = await browser.newContext({ ...PHONE, geolocation: HERE, permissions: ['geolocation', 'notifications'] });
    await context.addInitScript(FAKE_PUSH);
    const page = await context.newPage();
    const operatorId = await registeredOperator(page);
    await openTask(page, taskId);
    // Never on load: neither the feed nor an open task asked for permission.
    expect(await page.evaluate('window.__permissionAsks')).toBe(0);
    expect(await page.getByRole('button', { name: 'Turn on alerts' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Accept this task' }).click();
    await page.getByRole('heading', { name: 'Hear about the next task' }).waitFor();
    await expectAccessible(page, 'alert offer');
    await page.getByRole('button', { name: 'Turn on alerts' }).click();
    await page.getByText('Alerts are on. You can change them in your profile.').waitFor();
    expect(await page.evaluate('window.__permissionAsks')).toBe(1);
    // Subscribed with the server's VAPID key, and registered with the API.
    expect(Buffer.from(String(await page.evaluate("localStorage.getItem('fake-push')")), 'base64').toString('base64url')).toBe(VAPID.publicKey);
    expect(await stack.sql`select recipient_id from push_subscriptions where endpoint = 'https://push.example.test/push/browser-one'`).toEqual([{ recipient_id: operatorId }]);

    // The service worker shows a pushed alert (delivered through the browser's debugging protocol,
    // as the push service would) and it links into the task.
    const cdp = await context.newCDPSession(page);
    const registered = new Promise<string>((resolve) => cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
      const ours = registrations.find((r: { scopeURL: string; isDeleted: boolean }) => r.scopeURL.startsWith(app.url) && !r.isDeleted);
      if (ours) resolve(ours.registrationId);
    }));
    await cdp.send('ServiceWorker.enable');
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: new URL(app.url).origin, registrationId: await registered,
      data: JSON.stringify({ title: 'New task nearby: Check the sign', body: '$25.00 · 1 km away', url: `/#/task/${taskId}`, task_id: taskId }),
    });
    await expect.poll(() => page.evaluate(() => navigator.serviceWorker.ready.then((r) => r.getNotifications())
      .then((all) => all.map((n) => ({ title: n.title, body: n.body, url: n.data?.url })))), POLL)
      .toEqual([{ title: 'New task nearby: Check the sign', body: '$25.00 · 1 km away', url: `/#/task/${taskId}` }]);

    await nav(page).getByRole('link', { name: 'Profile' }).click();
    await page.getByText('Alerts are on for this device.').waitFor();
    await expectAccessible(page, 'profile with alerts');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Email').waitFor();
    expect(await stack.sql`select id from push_subscriptions where recipient_id = ${operatorId}`).toEqual([]);
    await context.close();
  });

  it('an expired task cannot be accepted, and says so', async () => {
    const taskId = await postTask();
    const context = await phone();
    const page = await context.newPage();
    await registeredOperator(page);
    await openTask(page, taskId);
    await stack.sql`update tasks set deadline = now() - interval '1 second' where id = ${taskId}`;
    await page.getByRole('button', { name: 'Accept this task' }).click();
    await page.getByText('This task has passed its deadline, so it can no longer be done.').waitFor();
    await context.close();
  });

  it('a KYC-pending operator sees why they cannot accept yet', async () => {
    const taskId = await postTask();
    const context = await phone();
    const page = await context.newPage();
    const operatorId = await registeredOperator(page);
    await stack.sql`update operators set kyc_status = 'PENDING' where id = ${operatorId}`;
    await page.reload();
    await page.getByText('Your identity check is in progress. Open tasks appear here, ready to accept, as soon as you are verified.').waitFor();
    expect(await page.locator('.cards a').count()).toBe(0);
    await expectAccessible(page, 'kyc pending');
    await page.goto(`${app.url}/#/task/${taskId}`);
    await page.getByText('Your identity check is not finished yet, so you cannot accept tasks.', { exact: false }).waitFor();
    await stack.sql`update operators set kyc_status = 'VERIFIED' where id = ${operatorId}`;
    await nav(page).getByRole('link', { name: 'Tasks', exact: true }).click();
    await page.getByRole('button', { name: 'Check my status again' }).click();
    await page.getByRole('tab', { name: 'Nearby' }).waitFor();
    await context.close();
  });

  it('warns before submitting a photo without GPS, and submits only once confirmed', async () => {
    const taskId = await postTask();
    const context = await phone();
    const page = await context.newPage();
    await registeredOperator(page);
    await openTask(page, taskId);
    await page.getByRole('button', { name: 'Accept this task' }).click();
    await page.getByRole('button', { name: 'Start task' }).click();
    await page.getByLabel('Choose photos').setInputFiles(photoFile('no-gps.jpg', makeJpeg()));
    await page.getByText('Photo 1 uploaded').waitFor();
    await page.getByText(/This photo has no GPS location/).waitFor();
    await page.getByText(/This photo has no capture time/).waitFor();
    await page.getByRole('button', { name: 'Submit proof' }).click();
    await page.getByText('Some photos may be refused.').waitFor();
    // On screen, clear of the bottom navigation, with the answer focused.
    await expectInView(page, page.getByRole('alertdialog'));
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Submit anyway');
    await expectAccessible(page, 'photo warning');
    expect((await stack.call('GET', `/tasks/${taskId}`, { key: agent.key })).body.status).toBe('IN_PROGRESS');
    await page.getByRole('button', { name: 'Submit anyway' }).click();
    await page.getByText('Sent: your proof is being checked').waitFor();
    await context.close();
  });

  it('an upload cut off while the API is unreachable keeps the photo and succeeds on retry', async () => {
    const taskId = await postTask();
    const context = await phone();
    const page = await context.newPage();
    await registeredOperator(page);
    await openTask(page, taskId);
    await page.getByRole('button', { name: 'Accept this task' }).click();
    await page.getByRole('button', { name: 'Start task' }).click();
    let cut = 0;
    await page.route('**/api/v1/operator/upload', (route) => {
      cut++;
      return route.abort('internetdisconnected');
    });
    await page.getByLabel('Take a photo').setInputFiles(photoFile('sign.jpg', makeJpeg({ lat: 40.713, lng: -74.0059, takenAt: new Date() })));
    await page.getByText(/Photo 1 did not upload\. No connection/).waitFor({ timeout: 20_000 });
    expect(cut).toBe(3); // the first try and the client's two retries
    await page.reload(); // even a reload keeps the photo (IndexedDB)
    await page.getByText(/Photo 1 did not upload/).waitFor({ timeout: 20_000 });
    await page.unroute('**/api/v1/operator/upload');
    await page.getByRole('button', { name: 'Retry upload' }).click();
    await page.getByText('Photo 1 uploaded').waitFor();
    await page.getByRole('button', { name: 'Submit proof' }).click();
    await page.getByText('Sent: your proof is being checked').waitFor();
    const [{ count }] = await stack.sql`select count(*)::int as count from proof_files where task_id = ${taskId}`;
    expect(count).toBe(1);
    await context.close();
  });

  // Third review (finding 6): on a shared phone, the next person must not find the last one's
  // profile (email, phone, home coordinates) in sessionStorage nor their queued photos in IndexedDB.
  it('signing out forgets the profile, drafts and queued photos this tab kept', async () => {
    const taskId = await postTask();
    const context = await phone();
    const page = await context.newPage();
    await registeredOperator(page);
    await openTask(page, taskId);
    await page.getByRole('button', { name: 'Accept this task' }).click();
    await page.getByRole('button', { name: 'Start task' }).click();
    await page.route('**/api/v1/operator/upload', (route) => route.abort('internetdisconnected'));
    await page.getByLabel('Take a photo').setInputFiles(photoFile('sign.jpg', makeJpeg({ lat: 40.713, lng: -74.0059, takenAt: new Date() })));
    await page.getByText(/Photo 1 did not upload/).waitFor({ timeout: 20_000 });
    const kept = () => page.evaluate(() => new Promise<{ storage: string[]; photos: number }>((resolve, reject) => {
      const open = indexedDB.open('humanops');
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const count = open.result.transaction('photos').objectStore('photos').count();
        count.onsuccess = () => resolve({ storage: Object.keys(sessionStorage).sort(), photos: count.result });
        open.result.close();
      };
    }));
    expect(await kept()).toMatchObject({ storage: expect.arrayContaining(['humanops.profile', 'humanops.session']), photos: 1 });
    await nav(page).getByRole('link', { name: 'Profile' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Email').waitFor();
    expect(await kept()).toEqual({ storage: [], photos: 0 });
    await context.close();
  });

  it('offline, a reload still shows the app shell (service worker)', async () => {
    const context = await phone();
    const page = await context.newPage();
    await registeredOperator(page);
    await reloadOffline(page);
    await page.getByRole('link', { name: 'HumanOps' }).waitFor();
    await page.getByText('You are offline.', { exact: false }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await expectAccessible(page, 'offline');
    // The owner's console beside the app is not the operator's: offline, it is not served as the operator shell.
    const consolePage = await page.goto(`${app.url}/console/`).then(() => 'opened', () => 'unreachable');
    expect(consolePage).toBe('unreachable');
    await context.setOffline(false);
    await page.goto(app.url);
    // Installable: a manifest with 192 and 512 px PNG icons, served by the app.
    const manifest = await page.evaluate(() => fetch('/manifest.webmanifest').then((r) => r.json()));
    expect(manifest).toMatchObject({ display: 'standalone', start_url: './' });
    for (const size of ['192x192', '512x512']) {
      const icon = manifest.icons.find((i: { sizes: string; type: string }) => i.sizes === size && i.type === 'image/png');
      expect(await page.evaluate((src) => fetch(`/${src}`).then((r) => r.headers.get('content-type')), icon.src)).toBe('image/png');
    }
    await context.close();
  });

  it('a task page reloaded offline waits with a Retry, and loads by itself when the connection returns', async () => {
    const title = `Read the meter ${randomBytes(3).toString('hex')}`;
    const taskId = await postTask({ title });
    const context = await phone();
    const page = await context.newPage();
    await registeredOperator(page);
    await openTask(page, taskId);
    await reloadOffline(page);
    await page.getByRole('heading', { name: 'Waiting for a connection' }).waitFor({ timeout: 20_000 });
    await page.getByRole('button', { name: 'Retry' }).waitFor();
    await page.getByText('You are offline.', { exact: false }).waitFor();
    await expectAccessible(page, 'task offline');
    await context.setOffline(false);
    await page.getByRole('heading', { name: title }).waitFor(POLL);
    await page.getByText('You are offline.', { exact: false }).waitFor({ state: 'detached' });
    await context.close();
  });

  it('a failed request marks the app offline even while the browser claims to be online, until a request succeeds', async () => {
    const context = await phone();
    // What Chromium 150 does after an offline reload: navigator.onLine stays true and no offline event fires.
    await context.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'onLine', { get: () => true });
      const add = window.addEventListener.bind(window);
      window.addEventListener = ((type: string, ...rest: never[]) => (type === 'offline' || type === 'online' ? undefined : add(type, ...rest))) as typeof window.addEventListener;
    });
    const page = await context.newPage();
    await registeredOperator(page);
    await reloadOffline(page);
    expect(await page.evaluate(() => navigator.onLine)).toBe(true);
    await page.getByText('You are offline.', { exact: false }).waitFor();
    await context.setOffline(false);
    await page.getByRole('link', { name: 'My tasks' }).click();
    await page.getByText('You are offline.', { exact: false }).waitFor({ state: 'detached' });
    await context.close();
  });

  it('with location refused, a typed place finds the tasks near it', async () => {
    const title = `Across the river ${randomBytes(3).toString('hex')}`;
    await postTask({ title, location: { lat: 40.6782, lng: -73.9442, address: 'Brooklyn' } });
    const context = await phone({ geolocation: false });
    const page = await context.newPage();
    await registeredOperator(page);
    await page.getByText('We could not use your location. Type where you are instead.').waitFor();
    await page.getByLabel(/Where are you/).fill('40.6782, -73.9442');
    await page.getByRole('button', { name: 'Use this place' }).click();
    await page.getByRole('link', { name: new RegExp(title) }).waitFor();
    await page.getByRole('tab', { name: 'Remote' }).click();
    await expect.poll(() => page.getByRole('link', { name: new RegExp(title) }).count(), POLL).toBe(0);
    await context.close();
  });

  it('works at a desktop width too, with every screen accessible', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, geolocation: HERE, permissions: ['geolocation'] });
    const page = await context.newPage();
    await registeredOperator(page);
    await expectAccessible(page, 'desktop feed');
    for (const screen of ['My tasks', 'Earnings', 'Profile']) {
      await nav(page).getByRole('link', { name: screen, exact: true }).click();
      await page.getByRole('heading', { level: 1 }).filter({ hasNotText: 'Tasks' }).or(page.getByRole('heading', { name: 'My tasks', level: 1 })).first().waitFor();
      await expectAccessible(page, `desktop ${screen}`);
    }
    await context.close();
  });

  it('a confirmation without words is marked on its field, and the mark clears as it is written', async () => {
    const reply = await stack.createTask(agent, { title: `Review a listing ${randomBytes(3).toString('hex')}`, task_type: 'CONTENT_REVIEW', reward_usd: 15, location: undefined });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    const context = await phone();
    const page = await context.newPage();
    await registeredOperator(page);
    await openTask(page, reply.body.task_id);
    await page.getByRole('button', { name: 'Accept this task' }).click();
    await page.getByRole('button', { name: 'Start task' }).click();
    await page.getByRole('button', { name: 'Submit confirmation' }).click();
    const field = page.getByLabel('Confirmation', { exact: true });
    await expect.poll(() => field.getAttribute('aria-invalid'), POLL).toBe('true');
    expect(await page.locator(`[id="${await field.getAttribute('aria-describedby')}"]`).textContent()).toBe('Describe what you did.');
    await expectAccessible(page, 'confirmation missing');
    await field.fill('The listing matches the photos; the price is right.');
    expect(await field.getAttribute('aria-invalid')).toBeNull();
    expect(await page.getByText('Describe what you did.').count()).toBe(0);
    await page.getByRole('button', { name: 'Submit confirmation' }).click();
    await page.getByText('Sent: your proof is being checked').waitFor();
    await context.close();
  });

  /**
   * An API key task the agent dispatched, accepted and started in the app by a new operator; every
   * request the page makes is kept (URL and body) to show what left it.
   */
  async function startedCredentialTask(name: string, reward_usd: number) {
    const { task, privateKey } = await agentClient.dispatchCredentialTask({
      category: 'API_KEY_PROCUREMENT', title: `Get a ${name} API key`, description: `Sign up at ${name.toLowerCase()}.example and create an API key`, reward_usd,
    });
    const context = await phone();
    const page = await context.newPage();
    const bodies: string[] = [];
    page.on('request', (request) => bodies.push(`${request.url()} ${request.postData() ?? ''}`));
    await registeredOperator(page);
    await page.getByRole('tab', { name: 'Remote' }).click();
    await page.getByRole('link', { name: new RegExp(`Get a ${name} API key`) }).click();
    await page.getByRole('button', { name: 'Accept this task' }).click();
    await page.getByRole('button', { name: 'Start task' }).click();
    return { task, privateKey, context, page, bodies };
  }

  it('a credential is encrypted in the page: its plaintext is in no request, and the agent decrypts it with the SDK', async () => {
    const { task, privateKey, context, page, bodies } = await startedCredentialTask('Weatherly', 40);
    const secret = `wx_live_${randomBytes(12).toString('hex')}`;
    await page.getByLabel('API key', { exact: true }).fill(secret);
    await page.getByLabel('Address of the account page (URL)', { exact: true }).fill('https://weatherly.example/dashboard');
    // The secret is hidden as it is typed, and can be shown to check it.
    expect(await page.getByLabel('API key', { exact: true }).getAttribute('type')).toBe('password');
    await page.getByRole('button', { name: 'Show api key' }).click();
    expect(await page.getByLabel('API key', { exact: true }).getAttribute('type')).toBe('text');
    expect(await page.getByLabel('API key', { exact: true }).inputValue()).toBe(secret);
    await page.getByRole('button', { name: 'Hide api key' }).click();
    await expectAccessible(page, 'credential form');
    await page.getByRole('button', { name: 'Encrypt and submit' }).click();
    await page.getByText(/^(Sent: your proof is being checked|The requester is looking at your proof)$/).waitFor();
    expect(bodies.some((body) => body.includes('/submit') && body.includes('"ciphertext"'))).toBe(true);
    expect(bodies.join('\n')).not.toContain(secret);
    expect(bodies.join('\n')).not.toContain('weatherly.example/dashboard');
    // The session token travels only in the Authorization header: never in a URL, never in localStorage.
    expect(bodies.some((line) => /eyJ[\w-]+\.[\w-]+\./.test(line.split(' ')[0]))).toBe(false);
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }))).not.toMatch(/eyJ/);

    await stack.tick();
    await expect.poll(async () => (await agentClient.tasks.retrieve(task.task_id)).status, POLL).toBe('COMPLETED');
    expect(await agentClient.retrieveCredential(task.task_id, privateKey)).toEqual({ api_key: secret, dashboard_url: 'https://weatherly.example/dashboard' });
    await context.close();
  });

  it('a credential not accepted is sent again from the app, encrypted afresh, and the agent decrypts the new one', async () => {
    const { task, privateKey, context, page, bodies } = await startedCredentialTask('Stormly', 30);
    await page.getByLabel('API key', { exact: true }).fill('stormly_test_000');
    await page.getByRole('button', { name: 'Encrypt and submit' }).click();
    await page.getByText(/^(Sent: your proof is being checked|The requester is looking at your proof)$/).waitFor();
    const first = (await agentClient.tasks.retrieve(task.task_id)).proof;

    await agentClient.tasks.verify(task.task_id, 'REJECT', 'That is a test-mode key; the task asks for a live one.');
    await page.locator('.status-line', { hasText: 'Not accepted yet: you can send new proof once' }).waitFor(POLL);
    await page.getByText('That is a test-mode key; the task asks for a live one.').waitFor();
    await page.getByRole('heading', { name: 'Hand over the credential again' }).waitFor();
    await expectAccessible(page, 'credential not accepted');
    const secret = `stormly_live_${randomBytes(12).toString('hex')}`;
    await page.getByLabel('API key', { exact: true }).fill(secret);
    await page.getByRole('button', { name: 'Encrypt and send again' }).click();
    await page.getByText(/^(Sent: your proof is being checked|The requester is looking at your proof)$/).waitFor();
    expect(bodies.some((body) => body.includes('/resubmit') && body.includes('"ciphertext"'))).toBe(true);
    expect(bodies.join('\n')).not.toContain(secret);

    await stack.tick();
    await expect.poll(async () => (await agentClient.tasks.retrieve(task.task_id)).status, POLL).toBe('COMPLETED');
    const resent = await agentClient.tasks.retrieve(task.task_id);
    expect(first).not.toBeNull();
    expect(resent.proof).not.toEqual(first);
    expect(await agentClient.retrieveCredential(task.task_id, privateKey)).toEqual({ api_key: secret });
    await context.close();
  });

  it('switching to Remote while the nearby page is still on its way shows the remote tasks, not the late nearby answer', async () => {
    await agentClient.dispatchCredentialTask({
      category: 'API_KEY_PROCUREMENT', title: 'Get a Skyline API key', description: 'Sign up at skyline.example and create an API key', reward_usd: 25,
    });
    const context = await phone();
    const page = await context.newPage();
    const isNearby = (url: string) => new URL(url).searchParams.get('task_domain') === 'PHYSICAL';
    // Hold every nearby page until the remote one has been answered (a slow cell, a busy server).
    const remoteAnswered = page.waitForResponse((response) => response.url().includes('/operator/tasks?') && !isNearby(response.url()));
    await page.route('**/api/v1/operator/tasks?*', async (route) => {
      if (isNearby(route.request().url())) await remoteAnswered;
      await route.continue();
    });
    const nearbyAsked = page.waitForRequest((request) => isNearby(request.url()));
    const nearbyAnswered = page.waitForResponse((response) => isNearby(response.url()));
    await registeredOperator(page);
    await nearbyAsked;
    await page.getByRole('tab', { name: 'Remote' }).click();
    const remote = page.getByRole('link', { name: /Get a Skyline API key/ });
    await remote.waitFor();
    // The nearby answer arrives after the remote one; the list must stay the remote tab's.
    await nearbyAnswered;
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 300)));
    expect(await remote.isVisible()).toBe(true);
    await context.close();
  });

  /** What an agent's model finds through the MCP server's search_operators tool near a point. */
  async function searchOperators(args: { lat: number; lng: number; radius_km: number }): Promise<string[]> {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [new URL('../mcp/dist/index.js', import.meta.url).pathname],
      env: { HUMANOPS_API_KEY: agent.key, HUMANOPS_API_URL: stack.url.replace(/\/api\/v1$/, ''), PATH: process.env.PATH ?? '' },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'app-browser-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const result = await client.callTool({ name: 'search_operators', arguments: args });
      expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
      return (result.structuredContent as { data: { operator_id: string }[] }).data.map((o) => o.operator_id);
    } finally {
      await client.close();
    }
  }

  it('registering in the app sets a home area from the phone\'s position, so an agent finds the operator with search_operators', async () => {
    const context = await phone();
    const page = await context.newPage();
    const { operatorId } = await signIn(page);
    await page.getByRole('heading', { name: 'Set up your profile' }).waitFor();
    await page.getByText('Set near 40.71, -74.01.').waitFor();
    await page.getByLabel('Full name').fill('Riley Chen');
    await page.getByLabel('City').fill('New York');
    await page.getByLabel('Country code').fill('US');
    await page.getByRole('button', { name: 'Create my profile' }).click();
    await page.getByRole('heading', { name: 'Tasks', level: 1 }).waitFor();
    // Sent coarse: about a kilometre, never the phone's exact point.
    expect(await stack.sql`select lat, lng from operators where id = ${operatorId}`).toEqual([{ lat: 40.71, lng: -74.01 }]);
    expect(await searchOperators({ lat: 40.7484, lng: -73.9857, radius_km: 10 })).toContain(operatorId); // from Midtown
    expect(await searchOperators({ lat: 42.3601, lng: -71.0589, radius_km: 50 })).not.toContain(operatorId); // Boston
    await context.close();
  });

  it('the profile editor lists every problem at once, marks each field, and saves a new home area and travel radius that searches follow', async () => {
    const context = await phone();
    const page = await context.newPage();
    const operatorId = await registeredOperator(page);
    await nav(page).getByRole('link', { name: 'Profile' }).click();
    await page.getByRole('button', { name: 'Edit profile' }).click();
    await page.getByRole('heading', { name: 'Edit your profile' }).waitFor();
    await expectAccessible(page, 'profile editor');

    await page.getByLabel('Full name').fill('');
    await page.getByLabel('Phone').fill('call me');
    await page.getByLabel(/How far you will travel/).fill('900');
    await page.getByRole('button', { name: 'Save changes' }).click();
    const summary = page.getByRole('alert').filter({ hasText: 'things to fix' });
    await summary.getByText('3 things to fix:').waitFor();
    for (const [label, sentence] of [
      ['Full name', 'Enter your name, up to 100 characters.'],
      ['Phone', 'Enter a phone number, such as +1 212 555 0100, or leave it empty.'],
      [/How far you will travel/, 'Enter a whole number of kilometres from 1 to 500, or leave it empty.'],
    ] as const) {
      const field = page.getByLabel(label);
      expect(await field.getAttribute('aria-invalid')).toBe('true');
      const describedBy = (await field.getAttribute('aria-describedby'))!.split(' ');
      expect(await page.locator(`[id="${describedBy.at(-1)}"]`).textContent()).toBe(sentence);
    }
    await expectAccessible(page, 'profile editor with problems');
    // Fixing a field clears its own message at once, and only its own.
    await page.getByLabel('Full name').fill('Sam Lee-Park');
    expect(await page.getByLabel('Full name').getAttribute('aria-invalid')).toBeNull();
    await summary.getByText('2 things to fix:').waitFor();
    expect((await stack.call('GET', '/operator/me', { headers: { authorization: `Bearer ${await operatorToken(operatorId)}` } })).body.name).toBe('Sam Lee');

    await page.getByLabel('Phone').fill('+1 718 555 0100');
    await page.getByLabel(/How far you will travel/).fill('3');
    await page.getByLabel(/Or type it/).fill('40.6782, -73.9442');
    await page.getByRole('button', { name: 'Use this place' }).click();
    await page.getByText('Set near 40.68, -73.94.').waitFor();
    await page.getByRole('button', { name: 'Take photos', exact: true }).click();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Your profile is saved.').waitFor();
    await page.getByRole('heading', { name: 'Sam Lee-Park' }).waitFor();
    await page.getByText('Up to 3 km').waitFor();
    await expectAccessible(page, 'profile saved');
    const [row] = await stack.sql`select name, phone, lat, lng, travel_radius_km, skills from operators where id = ${operatorId}`;
    expect(row).toEqual({ name: 'Sam Lee-Park', phone: '+1 718 555 0100', lat: 40.68, lng: -73.94, travel_radius_km: 3, skills: ['PHOTO'] });
    // Found from Brooklyn, no longer from lower Manhattan (about 6 km away, beyond the 3 km travel radius).
    expect(await searchOperators({ lat: 40.6782, lng: -73.9442, radius_km: 5 })).toContain(operatorId);
    expect(await searchOperators({ lat: HERE.latitude, lng: HERE.longitude, radius_km: 25 })).not.toContain(operatorId);
    await context.close();
  });
});
