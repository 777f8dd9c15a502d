/**
 * bench:http — CPU accounting from /proc (Linux, local server only): the CPU of the server under
 * test and of PostgreSQL per request, and the CPU of everything else on the machine during a
 * round ("other load"), which tells a noisy run from a quiet one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { CLOCK_TICKS_PER_SECOND as ticksPerSecond, readProcStat, type ProcStat } from './bench-env.js';

/** utime + stime */
function own(s: ProcStat): number {
  return s.utime + s.stime;
}

/** CPU ticks of `pid` (and, with `withChildren`, its live children and those it reaped). */
function processTicks(pid: number, withChildren: boolean): number | undefined {
  const s = readProcStat(pid);
  if (s === undefined) return undefined;
  if (!withChildren) return own(s);
  let children = 0;
  for (const name of readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const cs = readProcStat(Number(name));
    if (cs !== undefined && cs.ppid === pid) children += own(cs);
  }
  return own(s) + s.cutime + s.cstime + children;
}

function machineBusy(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!;
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
    return user + nice + system + irq + softirq + steal;
  } catch {
    return undefined;
  }
}

/** The postmaster of the server a backend runs on, when it runs on this machine. */
export function postmasterOf(backendPid: number): number | undefined {
  const s = readProcStat(backendPid);
  if (s === undefined) return undefined;
  try {
    return readFileSync(`/proc/${s.ppid}/comm`, 'utf8').trim().startsWith('postgres') ? s.ppid : undefined;
  } catch {
    return undefined;
  }
}

/** CPU per request of a round, in µs, and the other load in cores. */
export interface RoundCpu {
  readonly serverUsPerRequest: number;
  readonly postgresUsPerRequest: number | undefined;
  /** Cores used by processes that are neither the bench's nor PostgreSQL's. */
  readonly otherCores: number | undefined;
}

/** A reading of {@link CpuMeter}. */
export interface Reading {
  readonly server: number;
  readonly postgres: number | undefined;
  readonly ours: number | undefined;
  readonly machine: number | undefined;
  readonly at: number;
}

/**
 * Reads the CPU of the bench's processes (`ourPids`: the bench, the load generator, every
 * server), of the server under test, and of PostgreSQL (postmaster, backends, reaped backends).
 */
export class CpuMeter {
  readonly #ourPids: readonly number[];
  readonly #postmaster: number | undefined;

  constructor(ourPids: readonly number[], postmaster: number | undefined) {
    this.#ourPids = ourPids;
    this.#postmaster = postmaster;
  }

  read(serverPid: number): Reading {
    const postgres = this.#postmaster === undefined ? undefined : processTicks(this.#postmaster, true);
    let ours: number | undefined = 0;
    for (const pid of this.#ourPids) ours += processTicks(pid, false) ?? 0;
    if (postgres === undefined) ours = undefined;
    else ours += postgres;
    return { server: processTicks(serverPid, false) ?? 0, postgres, ours, machine: machineBusy(), at: performance.now() };
  }

  between(a: Reading, b: Reading, requests: number): RoundCpu {
    const us = (ticks: number): number => Math.round(((ticks / ticksPerSecond) * 1e6) / Math.max(1, requests));
    const seconds = (b.at - a.at) / 1000;
    const other =
      a.ours === undefined || b.ours === undefined || a.machine === undefined || b.machine === undefined
        ? undefined
        : Math.max(0, b.machine - a.machine - (b.ours - a.ours)) / ticksPerSecond / seconds;
    return {
      serverUsPerRequest: us(b.server - a.server),
      postgresUsPerRequest: a.postgres === undefined || b.postgres === undefined ? undefined : us(b.postgres - a.postgres),
      otherCores: other === undefined ? undefined : Math.round(other * 100) / 100,
    };
  }
}
