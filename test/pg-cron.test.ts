// The pg_cron path for real: a throwaway Debian Postgres 15 with pg_cron preloaded gets every
// migration (proving they also run on 15, and that they create the extension and every schedule
// themselves), and its scheduled jobs expire an overdue task with a refund. pg_cron schedules by
// the minute, so this takes up to about 70 s. Without pg_cron it fails (HUMANOPS_SKIP=pg_cron skips
// it on purpose, loudly); CI installs postgresql-15-cron.
import { spawnSync } from 'node:child_process';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../scripts/lib/migrate.mjs';
import { onFreePort } from '../scripts/lib/ports.mjs';
import { needsPgCron, PG15_BIN } from './helpers/requirements.ts';

const BIN = PG15_BIN;

/** Runs a Postgres 15 tool as the postgres user (as root) or as ourselves. */
function pgTool(tool: string, args: string[]) {
  const command = userInfo().uid === 0 ? ['runuser', ['-u', 'postgres', '--', `${BIN}/${tool}`, ...args]] as const : [`${BIN}/${tool}`, args] as const;
  const result = spawnSync(command[0], [...command[1]], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${tool} failed: ${result.stderr || result.stdout}`);
  return result.stdout;
}

describe.skipIf(needsPgCron.skipped)('pg_cron on Postgres 15', () => {
  let dir: string;
  let dataDir: string;
  let sql: postgres.Sql;
  let started = false;

  beforeAll(async () => {
    needsPgCron.assertAvailable();
    dir = await mkdtemp(join(tmpdir(), 'humanops-pgcron-'));
    await chmod(dir, 0o755);
    dataDir = join(dir, 'data');
    if (userInfo().uid === 0) {
      // initdb runs as the postgres user, which must own the folder.
      const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
      const group = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
      await chown(dir, Number(id.stdout), Number(group.stdout));
    }
    pgTool('initdb', ['-D', dataDir, '--auth=trust', '--username=postgres', '--encoding=UTF8', '--locale=C']);
    const port = await onFreePort(async (port: number) => {
      pgTool('pg_ctl', ['-D', dataDir, '-w', '-l', join(dir, 'log'), '-o',
        `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c shared_preload_libraries=pg_cron -c cron.database_name=postgres -c cron.timezone=UTC -c fsync=off`,
        'start']);
      return port;
    });
    started = true;
    sql = postgres(`postgres://postgres@127.0.0.1:${port}/postgres`, { onnotice: () => {}, max: 2 });
    // The migrations create the extension themselves, as they do on Supabase.
    await migrate(sql);
  }, 60_000);

  afterAll(async () => {
    await sql?.end();
    if (started) pgTool('pg_ctl', ['-D', dataDir, '-w', '-m', 'fast', 'stop']);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the migrations schedule the lifecycle jobs and the worker call', async () => {
    const jobs = await sql`select jobname, schedule, command from cron.job order by jobname`;
    expect(jobs.map((j) => j.jobname)).toEqual([
      'humanops-expire-approvals', 'humanops-expire-tasks', 'humanops-maintenance', 'humanops-release-earnings', 'humanops-worker',
    ]);
    // Debian's pg_cron 1.4 schedules by the minute; 1.5+ (Supabase) every 10 seconds.
    const [{ extversion }] = await sql`select extversion from pg_extension where extname = 'pg_cron'`;
    const worker = jobs.find((j) => j.jobname === 'humanops-worker')!;
    expect(worker.command).toBe('select private.call_worker()');
    const [major, minor] = extversion.split(/[.-]/).map(Number);
    expect(worker.schedule).toBe(major > 1 || minor >= 5 ? '10 seconds' : '* * * * *');
    // Without pg_net and Vault the worker call does nothing, and says so.
    expect(await sql`select private.call_worker() as request`).toEqual([{ request: null }]);
  });

  it('expires an overdue task with a refund, on schedule', async () => {
    const [{ agent_id }] = await sql`select agent_id from api.register_agent('cron', 'cron@example.com', null, 'test', repeat('c', 64), 'ho_test_cron..')`;
    await sql`select api.credit_deposit(${agent_id}, 'fiat', 10000)`;
    const [task] = await sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: agent_id, role: 'authenticated', humanops_role: 'agent' })}, true), set_config('role', 'authenticated', true)`;
      return tx`select * from api.create_task('Cron task', 'Expires on schedule', 'VERIFICATION', 'PHYSICAL', 'PHOTO', 40.7, -74.0, 'NYC',
                                             2500, now() + interval '1 hour', array['Photo'])`;
    });
    await sql`update tasks set deadline = now() - interval '1 second' where id = ${task.id}`;

    let status = 'PENDING';
    for (let waited = 0; waited < 75_000 && status !== 'EXPIRED'; waited += 2000) {
      await new Promise((r) => setTimeout(r, 2000));
      [{ status }] = await sql`select status from tasks where id = ${task.id}`;
    }
    expect(status).toBe('EXPIRED');
    const [account] = await sql`select balance from ledger_accounts where agent_id = ${agent_id} and kind = 'agent_deposit'`;
    expect(account.balance).toBe('10000');
    const runs = await sql`select status from cron.job_run_details d join cron.job j using (jobid) where j.jobname = 'humanops-expire-tasks'`;
    expect(runs.some((r) => r.status === 'succeeded')).toBe(true);
  }, 90_000);
});
