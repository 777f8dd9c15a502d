import type { Account, PrismaClient } from './generated/prisma/client.js';

export interface JournalLineInput {
  /** Account code, e.g. `1000`. */
  readonly account: string;
  readonly debit?: string | number;
  readonly credit?: string | number;
}

export interface JournalEntryInput {
  /** `YYYY-MM-DD`. */
  readonly date: string;
  readonly description: string;
  readonly lines: readonly JournalLineInput[];
}

/** A request the journal refuses (HTTP 400). */
export class JournalError extends Error {}

const AMOUNT = /^\d{1,16}(\.\d{1,2})?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** An amount in cents; 0 when absent. */
function cents(value: string | number | undefined, where: string): bigint {
  if (value === undefined) return 0n;
  const text = typeof value === 'number' ? String(value) : value;
  if (!AMOUNT.test(text)) throw new JournalError(`${where}: amounts are positive numbers with at most 2 decimals`);
  const [whole, fraction = ''] = text.split('.');
  return BigInt(whole!) * 100n + BigInt(fraction.padEnd(2, '0'));
}

const day = (d: Date): string => d.toISOString().slice(0, 10);

/**
 * Seed 003's journal, as plain Prisma: no tenant in sight. `prisma` is the adapter's context
 * client, which resolves the tenant of the request at each use.
 */
export class JournalService {
  readonly #prisma: PrismaClient;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  async accounts(): Promise<Account[]> {
    return await this.#prisma.account.findMany({ orderBy: { code: 'asc' } });
  }

  /** Records a balanced entry (debits = credits) in one transaction. */
  async record(input: JournalEntryInput): Promise<unknown> {
    if (typeof input.date !== 'string' || !DATE.test(input.date) || Number.isNaN(Date.parse(input.date)))
      throw new JournalError('date must be YYYY-MM-DD');
    if (typeof input.description !== 'string' || input.description.trim() === '')
      throw new JournalError('description must be a non-empty string');
    if (!Array.isArray(input.lines) || input.lines.length < 2) throw new JournalError('an entry has at least two lines');
    let debits = 0n;
    let credits = 0n;
    const lines = input.lines.map((line, i) => {
      const debit = cents(line?.debit, `line ${i + 1}`);
      const credit = cents(line?.credit, `line ${i + 1}`);
      if ((debit === 0n) === (credit === 0n)) throw new JournalError(`line ${i + 1}: give either a debit or a credit`);
      if (typeof line.account !== 'string') throw new JournalError(`line ${i + 1}: account must be an account code`);
      debits += debit;
      credits += credit;
      return { account: line.account, debit: String(line.debit ?? 0), credit: String(line.credit ?? 0) };
    });
    if (debits !== credits) throw new JournalError(`the entry does not balance: debits ${debits} ≠ credits ${credits} (cents)`);
    return await this.#prisma.$transaction(async (tx) => {
      const codes = [...new Set(lines.map((l) => l.account))];
      const accounts = await tx.account.findMany({ where: { code: { in: codes } } });
      const byCode = new Map(accounts.map((a) => [a.code, a.id]));
      const unknown = codes.filter((c) => !byCode.has(c));
      if (unknown.length > 0) throw new JournalError(`unknown account(s): ${unknown.join(', ')}`);
      const entry = await tx.journalEntry.create({
        data: {
          date: new Date(`${input.date}T00:00:00Z`),
          description: input.description.trim(),
          lines: { create: lines.map((l) => ({ accountId: byCode.get(l.account)!, debit: l.debit, credit: l.credit })) },
        },
        include: { lines: { include: { account: { select: { code: true } } }, orderBy: { id: 'asc' } } },
      });
      return view(entry);
    });
  }

  async entries(): Promise<unknown[]> {
    const entries = await this.#prisma.journalEntry.findMany({
      orderBy: [{ date: 'asc' }, { id: 'asc' }],
      include: { lines: { include: { account: { select: { code: true } } }, orderBy: { id: 'asc' } } },
    });
    return entries.map(view);
  }

  async entry(id: number): Promise<unknown> {
    const entry = await this.#prisma.journalEntry.findUnique({
      where: { id },
      include: { lines: { include: { account: { select: { code: true } } }, orderBy: { id: 'asc' } } },
    });
    return entry === null ? undefined : view(entry);
  }

  /** Debit and credit totals per account. */
  async trialBalance(): Promise<{ account: string; debit: string; credit: string }[]> {
    const [sums, accounts] = await Promise.all([
      this.#prisma.journalLine.groupBy({ by: ['accountId'], _sum: { debit: true, credit: true } }),
      this.#prisma.account.findMany({ select: { id: true, code: true } }),
    ]);
    const codeOf = new Map(accounts.map((a) => [a.id, a.code]));
    return sums
      .map((s) => ({
        account: codeOf.get(s.accountId)!,
        debit: s._sum.debit?.toFixed(2) ?? '0.00',
        credit: s._sum.credit?.toFixed(2) ?? '0.00',
      }))
      .sort((a, b) => a.account.localeCompare(b.account));
  }
}

interface EntryRow {
  id: number;
  date: Date;
  description: string;
  lines: { account: { code: string }; debit: { toFixed(digits: number): string }; credit: { toFixed(digits: number): string } }[];
}

function view(e: EntryRow): unknown {
  return {
    id: e.id,
    date: day(e.date),
    description: e.description,
    lines: e.lines.map((l) => ({ account: l.account.code, debit: l.debit.toFixed(2), credit: l.credit.toFixed(2) })),
  };
}
