/**
 * Where the private keys of credential tasks wait until their credential is retrieved: one file per
 * task under HUMANOPS_KEY_DIR (default `<config dir>/humanops/keys`), readable by the user alone.
 * A later session (another server process) finds them there; they never appear in a tool result.
 */
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultKeyDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HUMANOPS_KEY_DIR) return env.HUMANOPS_KEY_DIR;
  const base = process.platform === 'win32'
    ? env.APPDATA ?? join(homedir(), 'AppData', 'Roaming')
    : env.XDG_CONFIG_HOME ?? (process.platform === 'darwin' ? join(homedir(), 'Library', 'Application Support') : join(homedir(), '.config'));
  return join(base, 'humanops', 'keys');
}

const fileFor = (dir: string, taskId: string) => {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(taskId)) throw new Error(`Not a task id: ${taskId}`);
  return join(dir, `${taskId}.json`);
};

export class KeyStore {
  constructor(readonly dir: string) {}

  async save(taskId: string, privateKey: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = fileFor(this.dir, taskId);
    await writeFile(file, JSON.stringify({ task_id: taskId, private_key: privateKey, created_at: new Date().toISOString() }), { mode: 0o600 });
    await chmod(file, 0o600);
  }

  /** The private key for a task, or null when this machine never dispatched it. */
  async load(taskId: string): Promise<string | null> {
    try {
      return JSON.parse(await readFile(fileFor(this.dir, taskId), 'utf8')).private_key;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }
}
