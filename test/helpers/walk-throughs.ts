/**
 * The documentation's walk-throughs as bash: the README's short one (the agent's two blocks around
 * the operator's part in the app) and the whole API by hand in docs/agents.md. readme.test.ts runs
 * them against `npm start`; contract-prism.test.ts runs them through a validating proxy. Both run
 * `npm start` and the scripts in the clean environment and bash session defined here.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const README = readFileSync(join(repoRoot, 'README.md'), 'utf8');
export const AGENTS_GUIDE = readFileSync(join(repoRoot, 'docs/agents.md'), 'utf8');

/** A clean environment: nothing of the developer's own HumanOps settings leaks in. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('HUMANOPS_') || name.startsWith('ANTHROPIC_') || name === 'SUPABASE_DB_URL') delete env[name];
  }
  return { ...env, ...extra };
}

/** Runs `script` in one bash session from the clone's folder, as a newcomer pastes it. */
export async function runBash(script: string, env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  const shell = spawn('bash', ['-c', `set -euo pipefail\n${script}`], { cwd: repoRoot, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  shell.stdout!.on('data', (chunk) => (out += chunk));
  shell.stderr!.on('data', (chunk) => (err += chunk));
  const [code] = await once(shell, 'exit');
  return { code, out, err };
}

export const README_WALK_THROUGH = 'A walk-through: an agent posts, an operator does it, the agent approves';
export const API_BY_HAND = 'The API by hand';

/** The bash blocks of the section titled `title`, in order. */
export function bashBlocks(markdown: string, title: string): string[] {
  const start = markdown.indexOf(`\n## ${title}`);
  if (start < 0) throw new Error(`no "## ${title}" section`);
  const end = markdown.indexOf('\n## ', start + 1);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^```bash\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

/**
 * What the operator does in the app between the README's two blocks, as the app does it: signs in
 * (a token from the stack's issuer), registers, accepts the task, takes the sample photo (stamped now,
 * as the README says), uploads it, submits.
 */
export const OPERATOR_IN_THE_APP = `
OP="Authorization: Bearer $(npm run -s token -- op_readme)"
curl -sf -X POST $API/operator/register -H "$OP" -H 'Content-Type: application/json' \\
  -d '{"name": "Rea Dme", "email": "rea@example.com", "phone": "+1234567890", "location": {"city": "New York", "country": "US", "lat": 40.7128, "lng": -74.006}}'
curl -sf -X POST $API/operator/tasks/$TASK/accept -H "$OP"
SAMPLE=$(mktemp -d)/sign.jpg && npm run -s sample-photo -- "$SAMPLE"
PHOTO=$(curl -sf -X POST $API/operator/upload -H "$OP" -F task_id=$TASK -F file=@"$SAMPLE" | json .path)
curl -sf -X POST $API/operator/tasks/$TASK/submit -H "$OP" -H 'Content-Type: application/json' -d '{"photos": ["'$PHOTO'"]}'
echo
`;

/** The README's walk-through with the operator's part in the middle, as one script. */
export function readmeWalkThrough(): string {
  const [post, approve] = bashBlocks(README, README_WALK_THROUGH);
  return `${post}\n${OPERATOR_IN_THE_APP}\n${approve}\n`;
}

/** The API by hand, every block in order, as one script. */
export const apiByHand = () => `${bashBlocks(AGENTS_GUIDE, API_BY_HAND).join('\n')}\n`;
