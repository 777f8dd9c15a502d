// scratch: CPU profile of the plain app in tenancy mode (not committed)
import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
const { benchServer } = await import('./dist/bench-env.js');
const { createTenancy, migrationList } = await import('@tenantry/core');
const { url, server } = await benchServer();
const mig = migrationList([{ name: '0001', up: `create table posts (id uuid primary key default gen_random_uuid(), title text not null, content text not null default '', published boolean not null default false, created_at timestamptz not null default now(), updated_at timestamptz not null default now())` }]);
const tenancy = await createTenancy({ registryUrl: url, migrations: mig });
const N = Number(process.env.N ?? 100);
const targets = [];
for (let i = 0; i < N; i++) {
  const slug = `p-${i}`;
  let t; try { t = await tenancy.tenants.create({ slug, name: slug }); } catch { t = await tenancy.tenants.get(slug); }
  const id = await tenancy.withTenant(t.id, async (db) => (await db.query("insert into posts (title) values ('x') returning id")).rows[0].id);
  targets.push({ slug, id });
}
await tenancy.close();
const child = spawn(process.execPath, [...(process.env.PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []), 'dist/plain-app/main.js'], { env: { ...process.env, PLAIN_TENANCY_REGISTRY_URL: url, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
const base = await new Promise((r) => child.stdout.on('data', (d) => { const m = /listening on (\S+)/.exec(String(d)); if (m) r(m[1]); }));
const requests = targets.map((t) => ({ method: 'GET', path: `/posts/${t.id}`, headers: { 'x-tenant-id': t.slug } }));
const run = (d) => new Promise((r, j) => autocannon({ url: base, connections: 32, duration: d, requests }, (e, res) => e ? j(e) : r(res)));
await run(3);
const res = await run(Number(process.env.SECONDS ?? 10));
console.log('req/s', res.requests.average, 'non2xx', res.non2xx, 'errors', res.errors);
child.kill('SIGINT');
await new Promise((r) => child.on('exit', r));
await server?.stop();
