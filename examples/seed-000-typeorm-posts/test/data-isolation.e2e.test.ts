/**
 * Seed 000's "Testing Data Isolation" session, verbatim: `seed-000-data-isolation.sh` is the
 * seed's curl block, copied unchanged. Each step's `curl` command is parsed (method, URL,
 * headers, body) and sent as is over real HTTP to the app; `http://localhost:3000` becomes the
 * test server's address. The seed's own checks are checked: `# Response: {"id": "uuid-a", ...}`
 * binds `uuid-a` to the id answered (used by the later steps wherever the seed writes
 * `uuid-a`), and `# Returns: [{"title": "Tenant A Post", ...}]` must be exactly the answer —
 * one post per tenant, its own.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { serve } from './serve.js';

const SESSION = readFileSync(new URL('./seed-000-data-isolation.sh', import.meta.url), 'utf8');
const SEED_BASE = 'http://localhost:3000';

interface Step {
  readonly title: string;
  readonly command: string;
  /** The `# Response:` or `# Returns:` line after the command, without its label. */
  readonly expected: string | undefined;
}

/** The session's steps: a `# n. title` comment, the command (with `\` continuations), the expectation. */
function steps(session: string): Step[] {
  return session
    .trim()
    .split(/\n\s*\n/)
    .map((block) => {
      const lines = block.split('\n');
      const title = lines[0]!.replace(/^#\s*/, '');
      const expectedLine = lines.find((l) => /^# (Response|Returns):/.test(l));
      const command = lines
        .filter((l) => !l.startsWith('#'))
        .join('\n')
        .replace(/\\\n\s*/g, '');
      return { title, command, expected: expectedLine?.replace(/^# (Response|Returns):\s*/, '') };
    });
}

/** POSIX shell words of one command line: single and double quotes, no expansions (the seed uses none). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const re = /\s*(?:'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+))/g;
  for (let m = re.exec(line); m !== null && m[0].trim() !== ''; m = re.exec(line)) {
    words.push(m[1] ?? m[2]?.replace(/\\(.)/g, '$1') ?? m[3]!);
  }
  return words;
}

interface CurlRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
}

/** What curl sends for `-X`, `-H` and `-d` (with `-d` and no `-X`, a POST). */
function curl(words: string[]): CurlRequest {
  expect(words[0]).toBe('curl');
  let method: string | undefined;
  let url: string | undefined;
  let body: string | undefined;
  const headers: Record<string, string> = {};
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (w === '-X') method = words[++i];
    else if (w === '-H') {
      const [name, ...value] = words[++i]!.split(':');
      headers[name!.trim()] = value.join(':').trim();
    } else if (w === '-d') body = words[++i];
    else if (w.startsWith('-')) throw new Error(`curl option ${w} is not handled by this replay`);
    else url = w;
  }
  return { method: method ?? (body === undefined ? 'GET' : 'POST'), url: url!, headers, body };
}

/** `{"id": "uuid-a", ...}` → `{"id": "uuid-a"}`: the seed's `...` stands for the other fields. */
function expectation(text: string): unknown {
  return JSON.parse(text.replace(/,\s*\.\.\./g, ''));
}

const served = await serve();

describe("seed 000's data isolation session (verbatim curl commands over real HTTP)", () => {
  it("creates two tenants, a post in each, and each tenant's GET /posts returns only its own post, as the seed says", async () => {
    const bound = new Map<string, string>(); // uuid-a → the id Tenant A got
    const substitute = (s: string) => [...bound].reduce((acc, [name, value]) => acc.split(name).join(value), s);
    const session = steps(SESSION);
    expect(session.map((s) => s.title)).toEqual([
      '1. Create Tenant A',
      '2. Create Tenant B',
      '3. Create post for Tenant A',
      '4. Create post for Tenant B',
      '5. Get Tenant A posts (only sees their own)',
      '6. Get Tenant B posts (only sees their own)',
    ]);
    for (const step of session) {
      const req = curl(shellWords(step.command));
      expect(req.url.startsWith(SEED_BASE), step.title).toBe(true);
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, substitute(v)]));
      const res = await fetch(served.base + req.url.slice(SEED_BASE.length), {
        method: req.method,
        headers,
        ...(req.body === undefined ? {} : { body: substitute(req.body) }),
      });
      const answer = (await res.json()) as unknown;
      expect(res.status, `${step.title}: ${JSON.stringify(answer)}`).toBe(req.method === 'POST' ? 201 : 200);
      if (step.expected === undefined) continue;
      const expected = expectation(step.expected);
      if (Array.isArray(expected)) {
        // "# Returns: [{"title": "Tenant A Post", ...}]": that post, and no other.
        expect(answer, step.title).toHaveLength(expected.length);
        expect(answer, step.title).toMatchObject(expected);
      } else {
        // "# Response: {"id": "uuid-a", ...}": remember what uuid-a stands for.
        for (const [key, value] of Object.entries(expected as Record<string, string>)) {
          const actual = (answer as Record<string, unknown>)[key];
          expect(actual, `${step.title}: ${key}`).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
          bound.set(value, actual as string);
        }
      }
    }
    expect([...bound.keys()]).toEqual(['uuid-a', 'uuid-b']);
    expect(bound.get('uuid-a')).not.toBe(bound.get('uuid-b'));
  });
});
