/**
 * bench:http — the load generator, a child process of the bench (forked by http-load.ts), so the
 * bench, the load and the server under test are three processes. Runs autocannon on request.
 *
 * Every request picks a target (tenant and post) uniformly at random in `setupRequest`; every
 * 200 response is checked: its `id` must be one of the row's posts and its `title` that post's.
 * Post ids are random UUIDs, unique across tenants, so a server that used the wrong tenant's
 * schema answers 404 (counted as non-2xx), never another tenant's row.
 */
import autocannon from 'autocannon';
import type { LoadRequest, LoadResponse, LoadTarget, RoundResult } from './http-load.js';

const targetSets = new Map<string, { targets: readonly LoadTarget[]; titles: Map<string, string> }>();

function send(message: LoadResponse): void {
  process.send!(message);
}

async function run(req: Extract<LoadRequest, { type: 'run' }>): Promise<RoundResult> {
  const set = targetSets.get(req.key);
  if (set === undefined) throw new Error(`no targets loaded for '${req.key}'`);
  const { targets, titles } = set;
  const n = targets.length;
  let checked = 0;
  let mismatches = 0;
  let firstMismatch: string | undefined;
  const url = new URL(req.url);
  const instance = autocannon({
    url: req.url,
    connections: req.connections,
    duration: req.seconds,
    ...(req.leadInSeconds > 0 ? { warmup: { connections: req.connections, duration: req.leadInSeconds } } : {}),
    requests: [
      {
        method: 'GET',
        setupRequest: (request) => {
          const t = targets[Math.floor(Math.random() * n)]!;
          return { ...request, method: 'GET', path: t.path, headers: { ...t.headers, host: url.host } };
        },
        onResponse: (status, body) => {
          if (status !== 200) return;
          checked++;
          let ok: boolean;
          try {
            const post = JSON.parse(body) as { id?: unknown; title?: unknown };
            ok = typeof post.id === 'string' && titles.get(post.id) === post.title;
          } catch {
            ok = false;
          }
          if (!ok) {
            mismatches++;
            firstMismatch ??= body.slice(0, 300);
          }
        },
      },
    ],
  }) as Promise<autocannon.Result> & autocannon.Instance;
  // With a lead-in (autocannon's warmup), 'start' is the start of the measured run.
  instance.on('start', () => send({ type: 'measuring', id: req.id }));
  const result = await instance;
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = (stats as { count: number }).count;
  const total = result.requests.total;
  const ok = total - result.non2xx;
  return {
    seconds: result.duration,
    responses: total,
    ok,
    reqPerSec: ok / result.duration,
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    checked,
    mismatches,
    ...(firstMismatch === undefined ? {} : { firstMismatch }),
    statusCodes,
  };
}

process.on('message', (raw: unknown) => {
  const req = raw as LoadRequest;
  if (req.type === 'targets') {
    targetSets.set(req.key, { targets: req.targets, titles: new Map(req.targets.map((t) => [t.id, t.title])) });
    send({ type: 'ok', id: req.id });
  } else if (req.type === 'run') {
    run(req).then(
      (result) => send({ type: 'result', id: req.id, result }),
      (err: unknown) => send({ type: 'error', id: req.id, message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  } else if (req.type === 'exit') {
    process.disconnect();
  }
});
