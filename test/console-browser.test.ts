// The owner's console as an owner uses it: Debian's Chromium (playwright-core) on a desktop (1280×800)
// and a phone (390×844), against the real stack, axe-core in the page on every screen. One browser
// and one stack for the file. The owner signs in with the local issuer, links the agent with a code,
// sees the balance, sets a key's approval threshold; the agent's bot (through the SDK) posts above
// it, the task appears without a reload, and the owner approves it, and declines another, whose
// refund the balance shows. No API key ever travels in the console's requests or rests in its storage.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mnemonicToSeedSync } from '@scure/bip39';
import { chromium, type Browser, type Page, type Request } from 'playwright-core';
import { HDKey } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HumanOpsClient } from '@humanops/sdk';
import { localOperatorId, type OperatorApp, startOperatorApp } from './helpers/app.ts';
import { makeJpeg } from './helpers/images.ts';
import { CHROMIUM_PATH, needsChromium } from './helpers/requirements.ts';
import { type Agent, operatorToken, physicalTask, type Stack, startStack } from './helpers/stack.ts';

const SCREENSHOTS = process.env.HUMANOPS_SCREENSHOTS === '1' ? new URL('../docs/screenshots/', import.meta.url).pathname : null;
const AXE = readFileSync(new URL('../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
const XPUB = HDKey.fromMasterSeed(mnemonicToSeedSync('test test test test test test test test test test test junk')).derive("m/44'/60'/0'/0").publicExtendedKey!;
const POLL = { timeout: 15_000 };
/** A whole scenario in the browser: several screens, each waiting on the API, on a machine that may be busy. */
const BROWSER_TEST_MS = 180_000;
const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

describe.skipIf(needsChromium.skipped)("the owner's console in a real browser", () => {
  let stack: Stack;
  let app: OperatorApp;
  let browser: Browser;
  let agent: Agent;
  let bot: { id: string; key: string };
  let botClient: HumanOpsClient;
  /** Every request any console page made, for the no-API-key check. */
  const requests: Request[] = [];
  const email = `owner-${randomBytes(4).toString('hex')}@example.com`;

  beforeAll(async () => {
    needsChromium.assertAvailable();
    stack = await startStack({ env: { DEPOSIT_XPUB: XPUB } });
    app = await startOperatorApp(stack);
    agent = await stack.registerAgent('console-agent');
    await stack.deposit(agent, 100);
    const minted = (await stack.call('POST', '/agents/keys', { key: agent.key, body: { name: 'shopping-bot', scopes: ['agent'] } })).body;
    bot = { id: minted.id, key: minted.api_key };
    botClient = new HumanOpsClient({ apiKey: bot.key, baseUrl: stack.url.replace(/\/api\/v1$/, '') });
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await stack?.stop();
  });

  async function open(options: typeof DESKTOP | typeof PHONE) {
    const context = await browser.newContext(options);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.url });
    const page = await context.newPage();
    page.on('request', (request) => requests.push(request));
    page.on('dialog', (dialog) => dialog.accept());
    return page;
  }

  /** axe-core in the page (through the debugging protocol: the page's CSP refuses inline scripts): no serious or critical violation. */
  async function expectAccessible(page: Page, screen: string) {
    if (!(await page.evaluate('typeof axe !== "undefined"'))) await page.evaluate(AXE);
    const violations: { id: string; impact: string; nodes: { target: string[] }[] }[] = await page.evaluate(
      "axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => ({ target: n.target })) })))");
    const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(bad, `${screen}: ${JSON.stringify(bad, null, 1)}`).toEqual([]);
  }

  async function signIn(page: Page, who = email) {
    await page.goto(`${app.url}/console/`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await expectAccessible(page, 'sign-in');
    await page.getByLabel('Email').fill(who);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  const go = async (page: Page, screen: string) => {
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: new RegExp(`^${screen}`) }).click();
    await page.getByRole('heading', { level: 1, name: screen === 'Keys' ? 'Keys and policies' : screen }).waitFor();
  };
  const deposit = (page: Page) => page.getByTestId('deposit-balance').textContent();

  const post = (overrides: Record<string, unknown>) => botClient.tasks.create(physicalTask(overrides) as never);

  it('on a desktop: sign in, link with a code, see the balance, set a threshold; approve one held task live and decline another, refunded', async () => {
    const page = await open(DESKTOP);
    await signIn(page);
    await page.getByRole('heading', { name: 'Your agents' }).waitFor(POLL);
    await expectAccessible(page, 'agents (none yet)');

    // A wrong code is refused next to its field, and links nothing.
    await page.getByLabel('Link code').fill('link_wrongwrongwrongwrongwron');
    await page.getByRole('button', { name: 'Link', exact: true }).click();
    await expect.poll(() => page.locator('#link-code-error').textContent(), POLL).toContain('not right');
    await expect.poll(() => page.getByLabel('Link code').getAttribute('aria-invalid')).toBe('true');

    const code = (await stack.call('POST', '/agents/owners/link-code', { key: agent.key })).body.code;
    await page.getByLabel('Link code').fill(code);
    await page.getByRole('button', { name: 'Link', exact: true }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor(POLL);
    await expect.poll(() => deposit(page), POLL).toBe('$100.00');
    await page.locator('.chart canvas').waitFor(POLL); // the chart library, loaded when the overview needed it
    await expectAccessible(page, 'overview');

    // The bot key's approval threshold: bad input is refused next to the field and changes nothing.
    await go(page, 'Keys');
    await page.getByRole('button', { name: 'Policy of shopping-bot' }).click();
    const form = page.getByRole('form', { name: 'Policy of shopping-bot' });
    await form.getByLabel('Approval threshold (USD)').fill('-5');
    await form.getByRole('button', { name: /^Save/ }).click();
    await expect.poll(() => form.locator(`#${bot.id}-approval_threshold_usd-error`).textContent(), POLL).toBeTruthy();
    expect((await stack.call('GET', `/agents/keys/${bot.id}/policy`, { key: agent.key })).body.source).toBe('none');
    await expectAccessible(page, 'keys with a refused policy');
    await form.getByLabel('Approval threshold (USD)').fill('20');
    await form.getByRole('button', { name: /^Save/ }).click();
    await expect.poll(async () => (await stack.call('GET', `/agents/keys/${bot.id}/policy`, { key: agent.key })).body.approval_threshold_usd, POLL).toBe(20);

    // The same key may post only "Check a place" tasks and no credential task: ticked and chosen in the
    // form, kept beside the threshold, shown again when the form reopens, and enforced on the bot.
    await page.getByRole('button', { name: 'Policy of shopping-bot' }).click();
    await form.getByRole('group', { name: 'Task types it may post' }).getByLabel('Check a place').check();
    await form.getByLabel(/^Tasks that return a credential/).selectOption('refuse');
    await expectAccessible(page, 'a key policy with types');
    await form.getByRole('button', { name: /^Save/ }).click();
    await expect.poll(async () => {
      const { allowed_task_types, allow_credential_tasks, approval_threshold_usd } = (await stack.call('GET', `/agents/keys/${bot.id}/policy`, { key: agent.key })).body;
      return { allowed_task_types, allow_credential_tasks, approval_threshold_usd };
    }, POLL).toEqual({ allowed_task_types: ['VERIFICATION'], allow_credential_tasks: false, approval_threshold_usd: 20 });
    await page.getByRole('button', { name: 'Policy of shopping-bot' }).click();
    expect(await form.getByRole('group', { name: 'Task types it may post' }).getByLabel('Check a place').isChecked()).toBe(true);
    expect(await form.getByRole('group', { name: 'Task types it may post' }).getByLabel('Inspection').isChecked()).toBe(false);
    expect(await form.getByLabel(/^Tasks that return a credential/).inputValue()).toBe('refuse');
    await page.getByRole('button', { name: 'Policy of shopping-bot' }).click();
    await expect(post({ task_type: 'INSPECTION', reward_usd: 15 })).rejects.toMatchObject({ status: 403, code: 'policy_violation' });

    // The approvals screen is open when the bot posts above the threshold: the task appears by itself.
    await go(page, 'Approvals');
    await page.getByText('Nothing is waiting for you.').waitFor(POLL);
    // This stack has no VAPID keys: the page says so, and shows new tasks by itself instead.
    await page.getByText('Alerts are not set up on this server').waitFor(POLL);
    const first = await post({ title: 'Photograph the loading dock', reward_usd: 30 });
    expect(first.status).toBe('PENDING_APPROVAL');
    const card = page.getByRole('listitem').filter({ hasText: 'Photograph the loading dock' });
    await card.waitFor(POLL);
    expect(await card.textContent()).toMatch(/shopping-bot.*approval threshold of \$20\.00 in the key’s own policy/s);
    await expect.poll(() => page.getByRole('navigation', { name: 'Console' }).getByLabel('1 waiting').count()).toBe(1);
    await expectAccessible(page, 'approvals with a task');
    await card.getByRole('button', { name: 'Approve' }).click();
    await page.getByText('Approved “Photograph the loading dock”').waitFor(POLL);
    expect((await stack.call('GET', `/tasks/${first.task_id}`, { key: agent.key })).body.status).toBe('PENDING');

    const second = await post({ title: 'Count the bicycles', reward_usd: 25 });
    await go(page, 'Overview');
    await expect.poll(() => deposit(page), POLL).toBe('$35.10'); // 100 − 35.40 − 29.50 held in escrow
    await go(page, 'Approvals');
    const other = page.getByRole('listitem').filter({ hasText: 'Count the bicycles' });
    await other.getByRole('button', { name: 'Decline' }).click();
    await page.getByText('$29.50 went back to your deposit').waitFor(POLL);
    await go(page, 'Overview');
    await expect.poll(() => deposit(page), POLL).toBe('$64.60');
    expect(await page.getByTestId('escrow-balance').textContent()).toBe('$35.40');
    if (SCREENSHOTS) {
      await page.locator('.chart canvas').waitFor(POLL);
      await page.screenshot({ path: `${SCREENSHOTS}console-overview.png`, fullPage: true });
    }
    expect((await stack.call('GET', `/tasks/${second.task_id}`, { key: agent.key })).body.status).toBe('CANCELLED');

    // The other screens, each checked with axe.
    await go(page, 'Tasks');
    await page.getByRole('link', { name: /Photograph the loading dock/ }).click();
    await page.getByRole('heading', { name: 'Timeline' }).waitFor(POLL);
    expect(await page.locator('.timeline').textContent()).toContain('Open to operators');
    await expectAccessible(page, 'task');
    await go(page, 'Deposits');
    await page.getByRole('img', { name: /QR code of the deposit address 0x/ }).waitFor(POLL);
    await page.getByRole('cell', { name: '$100.00' }).waitFor(POLL);
    await expectAccessible(page, 'deposits');
    await go(page, 'Webhooks');
    await page.getByText(/No deliveries yet/).waitFor(POLL);
    await expectAccessible(page, 'webhooks');

    await expectNoKeyIn(page);
    await page.context().close();
  }, BROWSER_TEST_MS);

  it('on a phone: a task posted while the approvals screen is open appears, and approve and decline work by touch', async () => {
    const page = await open(PHONE);
    await signIn(page); // the same person: already linked
    await page.getByRole('heading', { name: 'Overview' }).waitFor(POLL);
    await expectAccessible(page, 'overview on a phone');
    await go(page, 'Approvals');
    const task = await post({ title: 'Check the gate is locked', reward_usd: 21 });
    const declined = await post({ title: 'Read the meter', reward_usd: 22 });
    const card = page.getByRole('listitem').filter({ hasText: 'Check the gate is locked' });
    await card.waitFor(POLL);
    await expectAccessible(page, 'approvals on a phone');
    if (SCREENSHOTS) await page.screenshot({ path: `${SCREENSHOTS}console-phone.png` });
    await card.getByRole('button', { name: 'Approve' }).tap();
    await page.getByText('Approved “Check the gate is locked”').waitFor(POLL);
    await page.getByRole('listitem').filter({ hasText: 'Read the meter' }).getByRole('button', { name: 'Decline' }).tap();
    await page.getByText('Declined “Read the meter”').waitFor(POLL);
    expect((await stack.call('GET', `/tasks/${task.task_id}`, { key: agent.key })).body.status).toBe('PENDING');
    expect((await stack.call('GET', `/tasks/${declined.task_id}`, { key: agent.key })).body.status).toBe('CANCELLED');
    await expectNoKeyIn(page);
    await page.context().close();
  }, BROWSER_TEST_MS);

  it("a task's page: proof photos with their EXIF place and time, the work approved and rated; keys made and shown once; the webhook log and a resend", async () => {
    const posted = await stack.createTask(agent, { title: 'Photograph the shop sign', reward_usd: 10, callback_url: 'http://127.0.0.1:9/hook' });
    const taskId = posted.body.task_id;
    const operator = await stack.registerOperator();
    expect((await stack.call('POST', `/operator/tasks/${taskId}/accept`, { headers: operator.auth })).status).toBe(200);
    const takenAt = new Date(Date.now() - 60_000);
    const photo = await stack.upload(operator, taskId, makeJpeg({ lat: 40.7128, lng: -74.006, takenAt, gpsTime: takenAt }));
    expect((await stack.call('POST', `/operator/tasks/${taskId}/submit`, { headers: operator.auth, body: { photos: [photo.body.path] } })).status).toBe(200);
    await stack.tick();

    // Another owner, linked through the API with the token the local sign-in will give them.
    const other = `owner-${randomBytes(4).toString('hex')}@example.com`;
    const code = (await stack.call('POST', '/agents/owners/link-code', { key: agent.key })).body.code;
    const session = { authorization: `Bearer ${await operatorToken(localOperatorId(other))}` };
    expect((await stack.call('POST', '/owner/link', { headers: session, body: { code } })).status).toBe(200);
    const page = await open(DESKTOP);
    await signIn(page, other);
    await page.getByRole('heading', { name: 'Overview' }).waitFor(POLL);
    await go(page, 'Tasks');
    await page.getByRole('link', { name: /Photograph the shop sign/ }).click();
    await page.getByRole('heading', { name: 'Proof' }).waitFor(POLL);
    await page.getByRole('img', { name: 'Proof photo 1' }).waitFor(POLL);
    await expect.poll(() => page.locator('.photo').textContent(), POLL).toContain('Taken at 40.71280, -74.00600');
    expect(await page.getByRole('img', { name: 'Proof photo 1' }).evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(320);
    await page.getByRole('heading', { name: 'The Guardian' }).waitFor();
    await expectAccessible(page, 'task with proof');
    await page.getByRole('button', { name: 'Approve the work' }).click();
    await page.getByText('Approved: the operator is paid.').waitFor(POLL);
    await page.getByLabel('Rate the operator (1–5)').fill('9');
    await page.getByRole('button', { name: 'Rate' }).click();
    await expect.poll(() => page.locator('#rating-error').textContent({ timeout: 1000 }).catch(() => null), POLL).toContain('1 to 5');
    await page.getByLabel('Rate the operator (1–5)').fill('5');
    await page.getByRole('button', { name: 'Rate' }).click();
    await page.getByText('Thank you: the rating is saved.').waitFor(POLL);
    expect((await stack.sql`select rating from task_ratings where task_id = ${taskId}`)[0].rating).toBe(5);

    // The filter shows the completed task only.
    await go(page, 'Tasks');
    await page.getByLabel('Status').selectOption('COMPLETED');
    await expect.poll(async () => (await page.locator('.cards a.card').allTextContents()).join('|'), POLL).toMatch(/^[^|]*Photograph the shop sign[^|]*$/);

    // A key made here is shown once, with a copy button, and revoked here.
    await go(page, 'Keys');
    await page.getByLabel('Name').fill('from-the-console');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = page.getByLabel('The new key, shown only now');
    await expect.poll(() => secret.inputValue(), POLL).toMatch(/^ho_test_/);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor(POLL);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(await secret.inputValue());
    await page.getByRole('button', { name: 'Done, hide it' }).click();
    expect(await secret.count()).toBe(0);
    await page.getByRole('button', { name: 'Revoke from-the-console' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Revoke from-the-console' }).count(), POLL).toBe(0);

    await go(page, 'Webhooks');
    await page.getByRole('cell', { name: /^task\.completed / }).waitFor(POLL);
    await expectAccessible(page, 'webhooks with deliveries');
    await page.getByRole('button', { name: `Resend task.completed of ${taskId}` }).click();
    await page.getByText('task.completed is queued to be sent again.').waitFor(POLL);
    await expectNoKeyIn(page);
    await page.context().close();
  }, BROWSER_TEST_MS);

  /** No API key in any request the console made (URL, headers, body), nor in its storage or address. */
  async function expectNoKeyIn(page: Page) {
    const secrets = [agent.key, bot.key];
    expect(requests.length).toBeGreaterThan(10);
    for (const request of requests) {
      const seen = [request.url(), JSON.stringify(await request.allHeaders()), request.postData() ?? ''].join('\n');
      expect(seen, request.url()).not.toMatch(/ho_(test|live)_/);
      for (const secret of secrets) expect(seen).not.toContain(secret);
      expect(Object.keys(await request.allHeaders()).map((h) => h.toLowerCase())).not.toContain('x-api-key');
    }
    const stored = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage } }));
    expect(stored).not.toMatch(/ho_(test|live)_/);
    expect(stored).toContain('humanops.session'); // the session token is what is kept, for this tab only
    expect(page.url()).not.toMatch(/ho_(test|live)_/);
  }
});
