/**
 * Tenantry as a user gets it: every publishable package (each `packages/*` that is not private)
 * is packed with `npm pack`, and the tarballs are installed from the registry's side of the
 * fence — into fresh projects under the system temp folder, outside the workspace, with no
 * workspace link and no `--legacy-peer-deps`:
 *
 * - a NestJS 12 ESM project ("type": "module", TypeScript 6), type-checked under `node16`,
 *   `nodenext` and `bundler`, built with `nodenext`;
 * - a NestJS 11 CommonJS project (TypeScript 5.9), type-checked under `commonjs` (TypeScript's
 *   node10 resolution, which ignores `exports`), `nodenext` and `bundler`, built with
 *   `commonjs`: its `require()` calls load the ESM packages through Node's require(esm).
 *
 * Each type-check has `skipLibCheck: false` and imports every package's main entry, so a
 * missing `types`, a `.d.ts` import that does not resolve (`pg` without `@types/pg`, a subpath
 * under node10) fails it. Then both apps (fixtures/packed-app/app.ts: `TenancyModule.forRoot`,
 * a singleton service injecting the tenancy) run against this run's PostgreSQL, and real HTTP
 * requests check tenant isolation and the error answers.
 *
 * The npm cache is expected warm (`--prefer-offline`). Without a reachable registry the file
 * is skipped with a printed line, except under CI=true, where it fails.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTenancy, type Tenancy } from '@tenantry/core';
import { createTestDatabase, type TestDatabase } from '../dist/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/packed-app/', import.meta.url));
const MIGRATIONS = path.join(FIXTURE, 'migrations');
const CI = process.env['CI'] === 'true';

interface Manifest {
  readonly name: string;
  readonly private?: boolean;
  readonly main?: string;
  readonly types?: string;
  readonly files?: readonly string[];
  readonly exports?: Record<string, unknown>;
  readonly dependencies?: Record<string, string>;
}

/** Every package under packages/ that is published (not private), whoever added it. */
const PUBLISHABLE = readdirSync(path.join(ROOT, 'packages'))
  .filter((dir) => existsSync(path.join(ROOT, 'packages', dir, 'package.json')))
  .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(path.join(ROOT, 'packages', dir, 'package.json'), 'utf8')) as Manifest }))
  .filter((p) => p.manifest.private !== true);

interface Run {
  readonly stdout: string;
  readonly stderr: string;
}

// Generous: on a loaded 2-core machine one type-check of a project has taken minutes.
function run(cmd: string, args: readonly string[], cwd: string, timeoutMs = 900_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024, env: process.env }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${err.message}\n${stdout}\n${stderr}`.trim()));
      else resolve({ stdout, stderr });
    });
  });
}

/** Why the npm registry cannot be used, or undefined when `npm ping` answers. */
async function registryProblem(): Promise<string | undefined> {
  try {
    await run('npm', ['ping'], os.tmpdir(), 30_000);
    return undefined;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}

const problem = await registryProblem();
const skip = problem !== undefined && !CI;
if (skip) console.warn(`packed-tarball tests skipped: the npm registry is unreachable (${problem})`);

it.runIf(CI)('can reach the npm registry (CI installs the packed tarballs from it)', () => {
  expect(problem).toBeUndefined();
});

/** One fixture project: its NestJS major, module system and TypeScript settings. */
interface Project {
  readonly label: string;
  readonly type: 'module' | 'commonjs';
  readonly nest: string;
  readonly typescript: string;
  readonly settings: readonly string[];
  readonly emit: string;
}

const PROJECTS: readonly Project[] = [
  {
    label: 'NestJS 12, ESM',
    type: 'module',
    nest: '^12.0.0',
    typescript: '~6.0.3',
    settings: ['nodenext', 'node16', 'bundler'],
    emit: 'nodenext',
  },
  // node16 is not among a CommonJS project's settings: under it TypeScript refuses any
  // require() of an ES module (TS1479) — @nestjs/common 12's as well; nodenext (TS ≥ 5.8)
  // knows Node's require(esm).
  {
    label: 'NestJS 11, CommonJS',
    type: 'commonjs',
    nest: '^11.0.0',
    typescript: '~5.9.3',
    settings: ['commonjs', 'nodenext', 'bundler'],
    emit: 'commonjs',
  },
];

interface Packed {
  readonly name: string;
  readonly filename: string;
  readonly files: readonly { path: string }[];
}

interface Checked {
  readonly setting: string;
  readonly ms: number;
  readonly cpuMs: number;
  readonly checked: readonly string[];
  readonly diagnostics: readonly string[];
}

interface Started {
  readonly project: Project;
  readonly dir: string;
  readonly checks: readonly Checked[];
  readonly url: string;
}

describe.skipIf(skip)('packed tarballs installed outside the workspace', () => {
  let tmp: string;
  let packed: Packed[];
  let db: TestDatabase;
  let tenancy: Tenancy | undefined;
  const children: ChildProcess[] = [];
  const started = new Map<string, Started>();
  const timings: Record<string, number> = {};

  async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      timings[label] = Date.now() - t0;
    }
  }

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'tenantry-packed-'));
    const tarballs = path.join(tmp, 'tarballs');
    await mkdir(tarballs);
    const out = await timed('pack', () =>
      run('npm', ['pack', ...PUBLISHABLE.flatMap((p) => ['-w', `packages/${p.dir}`]), '--pack-destination', tarballs, '--json'], ROOT),
    );
    packed = JSON.parse(out.stdout) as Packed[];

    db = await createTestDatabase(inject('tenantryServerUrl'), 'packed');
    // Two tenants with rows of their own, made with the workspace's core on the database the
    // apps will use as their registry.
    tenancy = await createTenancy({ registryUrl: db.url, migrations: MIGRATIONS, listen: false });
    for (const slug of ['acme', 'globex']) {
      await tenancy.tenants.create({ slug, name: slug });
      await tenancy.withTenant(slug, async (tdb) => {
        await tdb.query(`insert into notes (body) values ($1), ($2)`, [`${slug} note 1`, `${slug} note 2`]);
      });
    }
    await tenancy.close();
    tenancy = undefined;

    // Both projects at once: installs wait on I/O, type-checks take a core each.
    await Promise.all(PROJECTS.map(async (project) => started.set(project.label, await prepare(project, tarballs))));
    const checks = [...started.values()].flatMap((s) =>
      s.checks.map((c) => `${s.project.label} ${c.setting} ${c.ms} ms (${c.cpuMs} ms CPU)`),
    );
    console.info(`packed tarballs, wall-clock ms: ${JSON.stringify(timings)}; type-checks: ${checks.join(', ')}`);
  }, 1_800_000);

  async function prepare(project: Project, tarballs: string): Promise<Started> {
    const dir = path.join(tmp, project.type === 'module' ? 'esm-app' : 'cjs-app');
    await mkdir(path.join(dir, 'src'), { recursive: true });
    const dependencies: Record<string, string> = {
      '@nestjs/common': project.nest,
      '@nestjs/core': project.nest,
      '@nestjs/platform-express': project.nest,
      'reflect-metadata': '^0.2.2',
      rxjs: '^7.8.2',
    };
    for (const p of packed) dependencies[p.name] = `file:${path.join(tarballs, p.filename)}`;
    await writeFile(
      path.join(dir, 'package.json'),
      JSON.stringify(
        {
          name: `tenantry-packed-${project.type}`,
          private: true,
          type: project.type,
          dependencies,
          devDependencies: { typescript: project.typescript, '@types/node': '^20.19.0' },
        },
        null,
        2,
      ),
    );
    await copyFile(path.join(FIXTURE, 'app.ts'), path.join(dir, 'src', 'app.ts'));
    await copyFile(path.join(FIXTURE, 'check-types.mjs'), path.join(dir, 'check-types.mjs'));
    // Every package's main entry, and core's adapter contract (which the adapters' types import).
    const specifiers = [...packed.map((p) => p.name), '@tenantry/core/adapter'];
    await writeFile(
      path.join(dir, 'src', 'check.ts'),
      specifiers.map((s, i) => `import * as m${i} from '${s}';\n`).join('') +
        `export const modules = [${specifiers.map((_, i) => `m${i}`).join(', ')}];\n`,
    );

    await timed(`install ${project.label}`, () => run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], dir));
    const checks = await timed(
      `type-check ${project.label}`,
      async () =>
        JSON.parse((await run('node', ['check-types.mjs', JSON.stringify(project.settings), project.emit], dir)).stdout) as Checked[],
    );
    const url = await timed(`start ${project.label}`, () => startApp(dir));
    return { project, dir, checks, url };
  }

  /** Runs dist/app.js and waits for its "listening <port>" line. */
  function startApp(dir: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [path.join('dist', 'app.js')], {
        cwd: dir,
        env: { ...process.env, DATABASE_URL: db.url, MIGRATIONS },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let output = '';
      const timer = setTimeout(() => reject(new Error(`the app in ${dir} did not start within 120 s:\n${output}`)), 120_000);
      const onData = (chunk: Buffer): void => {
        output += chunk.toString('utf8');
        const m = /listening (\d+)/.exec(output);
        if (m) {
          clearTimeout(timer);
          resolve(`http://127.0.0.1:${m[1]}`);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the app in ${dir} exited with ${code} before listening:\n${output}`));
      });
    });
  }

  afterAll(async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
          }),
      ),
    );
    await tenancy?.close();
    await db?.drop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  }, 60_000);

  describe('each tarball', () => {
    it.each(PUBLISHABLE.map((p) => [p.manifest.name, p] as const))(
      '%s has a README, a LICENSE, main and types that exist, and no source maps',
      async (name, { manifest }) => {
        const tarball = packed.find((p) => p.name === name);
        expect(tarball, `npm pack made no tarball for ${name}`).toBeDefined();
        const files = new Set(tarball!.files.map((f) => f.path));
        expect(files).toContain('README.md');
        expect(files).toContain('LICENSE');
        expect(files).toContain('package.json');
        expect([...files].filter((f) => f.endsWith('.map'))).toEqual([]);
        expect(manifest.main, 'main (for resolvers that ignore exports)').toBeDefined();
        expect(manifest.types, 'types (for resolvers that ignore exports)').toBeDefined();
        expect(files).toContain(path.posix.normalize(manifest.main!));
        expect(files).toContain(path.posix.normalize(manifest.types!));

        // What was installed from the tarball, as a user's project has it.
        const installed = path.join(started.get(PROJECTS[0]!.label)!.dir, 'node_modules', ...name.split('/'));
        const readme = await readFile(path.join(installed, 'README.md'), 'utf8');
        expect(readme).toContain(`npm install`);
        expect(readme).toContain(name);
        expect(readme).toMatch(/```(ts|sh)\n(?:(?!```)[\s\S]){300,}```/); // an example (the CLI's is a shell session)
        expect(readme).toMatch(/\]\(https:\/\/[^)]+\/docs\/[a-z-]+\.md/); // a link to the docs
        expect(await readFile(path.join(installed, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
        for (const file of files) {
          if (!/\.(js|d\.ts)$/.test(file)) continue;
          expect(await readFile(path.join(installed, file), 'utf8'), `${name}/${file} points at a source map`).not.toMatch(
            /sourceMappingURL=/,
          );
        }
      },
    );

    it.each(PUBLISHABLE.map((p) => [p.manifest.name, p] as const))(
      '%s depends on @types/pg when its types import pg',
      async (name, { manifest }) => {
        const packedFiles = packed.find((p) => p.name === name)!.files.map((f) => f.path);
        const installed = path.join(started.get(PROJECTS[0]!.label)!.dir, 'node_modules', ...name.split('/'));
        let importsPg = false;
        for (const file of packedFiles.filter((f) => f.endsWith('.d.ts'))) {
          if (/from 'pg'|import\("pg"\)/.test(await readFile(path.join(installed, file), 'utf8'))) importsPg = true;
        }
        if (importsPg) expect(manifest.dependencies?.['@types/pg'], `${name}'s .d.ts import 'pg'`).toBeDefined();
      },
    );
  });

  describe.each(PROJECTS.map((p) => [p.label, p] as const))('%s app', (label, project) => {
    const get = (path: string, tenant?: string) =>
      fetch(`${started.get(label)!.url}${path}`, { headers: tenant === undefined ? {} : { 'x-tenant-id': tenant } });

    it(`installs @nestjs/core ${project.nest} beside the tarballs, without --legacy-peer-deps`, async () => {
      const { dir } = started.get(label)!;
      const nest = JSON.parse(await readFile(path.join(dir, 'node_modules', '@nestjs', 'core', 'package.json'), 'utf8')) as {
        version: string;
      };
      expect(nest.version.split('.')[0]).toBe(project.nest.slice(1).split('.')[0]);
      const built = await readFile(path.join(dir, 'dist', 'app.js'), 'utf8');
      if (project.type === 'commonjs') expect(built).toContain(`require("@tenantry/nestjs")`);
      else expect(built).toContain(`from '@tenantry/nestjs'`);
    });

    it.each(project.settings)('type-checks under module setting %s with skipLibCheck: false', (setting) => {
      const check = started.get(label)!.checks.find((c) => c.setting === setting)!;
      expect(check.diagnostics).toEqual([]);
      // The check did look at the packages' declarations.
      for (const p of packed) expect(check.checked.some((f) => f.startsWith(path.join('node_modules', p.name)))).toBe(true);
    });

    it('serves each tenant only its own rows, over HTTP', async () => {
      for (const slug of ['acme', 'globex']) {
        const res = await get('/notes', slug);
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ tenant: slug, notes: [`${slug} note 1`, `${slug} note 2`] });
      }
    });

    it('answers 404 TENANT_NOT_FOUND for an unknown tenant', async () => {
      const res = await get('/notes', 'no-such-tenant');
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ statusCode: 404, code: 'TENANT_NOT_FOUND' });
    });

    it('answers 400 TENANT_REQUIRED without a tenant', async () => {
      const res = await get('/notes');
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ statusCode: 400, code: 'TENANT_REQUIRED' });
    });
  });
});
