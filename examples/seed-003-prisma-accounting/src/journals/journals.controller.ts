import { Body, Controller, Get, NotFoundException, Param, ParseIntPipe, Post } from '@nestjs/common';
import { JournalEntryDto } from './journals.dto.js';
import { JournalService, type BalanceRow, type EntryView } from './journal.service.js';

/** The journal of the company in the path. */
@Controller(':tenantSlug')
export class JournalsController {
  constructor(private readonly journal: JournalService) {}

  @Get('journals')
  entries(): Promise<EntryView[]> {
    return this.journal.entries();
  }

  /** 201 with the entry; 400 `INVALID_ENTRY` when it does not balance or names an unknown account. */
  @Post('journals')
  record(@Body() dto: JournalEntryDto): Promise<EntryView> {
    return this.journal.record(dto);
  }

  @Get('journals/:id')
  async entry(@Param('id', ParseIntPipe) id: number): Promise<EntryView> {
    const entry = id > 0 && id < 2 ** 31 ? await this.journal.entry(id) : undefined;
    if (entry === undefined) throw new NotFoundException({ code: 'ENTRY_NOT_FOUND', message: `no journal entry ${id}` });
    return entry;
  }

  @Get('trial-balance')
  trialBalance(): Promise<BalanceRow[]> {
    return this.journal.trialBalance();
  }
}
