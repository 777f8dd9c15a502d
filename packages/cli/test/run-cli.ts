import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI (`npm test` builds first). */
export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment without anything that configures Tenantry, so each test says what it uses. */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && k !== 'DATABASE_URL' && !k.startsWith('TENANTRY_')) env[k] = v;
  }
  return env;
}

/** Runs `node dist/cli.js …args` as a subprocess; fails the test if it does not exit within 30 s. */
export async function runCli(args: readonly string[], options: { env: Record<string, string>; cwd: string }): Promise<CliRun> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tenantry ${args.join(' ')} did not exit within 30 s\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, 30_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}
