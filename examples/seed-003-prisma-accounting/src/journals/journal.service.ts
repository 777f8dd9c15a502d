import { BadRequestException, Injectable } from '@nestjs/common';
import { InjectPrisma } from '@tenantry/prisma/nestjs';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { JournalEntryDto } from './journals.dto.js';

/** A journal entry as the API answers it. */
export interface EntryView {
  readonly id: number;
  readonly date: string;
  readonly description: string;
  readonly lines: readonly { account: string; debit: string; credit: string }[];
}

/** The totals of one account. */
export interface BalanceRow {
  readonly account: string;
  readonly debit: string;
  readonly credit: string;
}

function invalid(message: string): BadRequestException {
  return new BadRequestException({ code: 'INVALID_ENTRY', message });
}

/** An amount in cents; 0 when absent. */
function cents(value: string | undefined): bigint {
  if (value === undefined) return 0n;
  const [whole, fraction = ''] = value.split('.');
  return BigInt(whole!) * 100n + BigInt(fraction.padEnd(2, '0'));
}

const WITH_LINES = { lines: { include: { account: { select: { code: true } } }, orderBy: { id: 'asc' } } } as const;

interface EntryRow {
  id: number;
  date: Date;
  description: string;
  lines: { account: { code: string }; debit: { toFixed(digits: number): string }; credit: { toFixed(digits: number): string } }[];
}

function view(e: EntryRow): EntryView {
  return {
    id: e.id,
    date: e.date.toISOString().slice(0, 10),
    description: e.description,
    lines: e.lines.map((l) => ({ account: l.account.code, debit: l.debit.toFixed(2), credit: l.credit.toFixed(2) })),
  };
}

/**
 * The journal ("Nusa Journal") as plain Prisma, with no company in sight: `@InjectPrisma()` gives
 * the context client, which runs each call — and each `$transaction` — in the request's company.
 */
@Injectable()
export class JournalService {
  constructor(@InjectPrisma() private readonly prisma: PrismaClient) {}

  /** Records a balanced entry (debits = credits) in one transaction; 400 `INVALID_ENTRY` otherwise. */
  async record(input: JournalEntryDto): Promise<EntryView> {
    if (Number.isNaN(Date.parse(`${input.date}T00:00:00Z`))) throw invalid('date must be a real day, YYYY-MM-DD');
    let debits = 0n;
    let credits = 0n;
    for (const [i, line] of input.lines.entries()) {
      const debit = cents(line.debit);
      const credit = cents(line.credit);
      if ((debit === 0n) === (credit === 0n)) throw invalid(`line ${i + 1}: give either a debit or a credit`);
      debits += debit;
      credits += credit;
    }
    if (debits !== credits) throw invalid(`the entry does not balance: debits ${debits} ≠ credits ${credits} (cents)`);
    return await this.prisma.$transaction(async (tx) => {
      const codes = [...new Set(input.lines.map((l) => l.account))];
      const accounts = await tx.account.findMany({ where: { code: { in: codes } } });
      const byCode = new Map(accounts.map((a) => [a.code, a.id]));
      const unknown = codes.filter((c) => !byCode.has(c));
      if (unknown.length > 0) throw invalid(`unknown account(s): ${unknown.join(', ')}`);
      const entry = await tx.journalEntry.create({
        data: {
          date: new Date(`${input.date}T00:00:00Z`),
          description: input.description.trim(),
          lines: {
            create: input.lines.map((l) => ({ accountId: byCode.get(l.account)!, debit: l.debit ?? '0', credit: l.credit ?? '0' })),
          },
        },
        include: WITH_LINES,
      });
      return view(entry);
    });
  }

  async entries(): Promise<EntryView[]> {
    return (await this.prisma.journalEntry.findMany({ orderBy: [{ date: 'asc' }, { id: 'asc' }], include: WITH_LINES })).map(view);
  }

  async entry(id: number): Promise<EntryView | undefined> {
    const entry = await this.prisma.journalEntry.findUnique({ where: { id }, include: WITH_LINES });
    return entry === null ? undefined : view(entry);
  }

  /** Debit and credit totals per account. */
  async trialBalance(): Promise<BalanceRow[]> {
    const [sums, accounts] = await Promise.all([
      this.prisma.journalLine.groupBy({ by: ['accountId'], _sum: { debit: true, credit: true } }),
      this.prisma.account.findMany({ select: { id: true, code: true } }),
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
