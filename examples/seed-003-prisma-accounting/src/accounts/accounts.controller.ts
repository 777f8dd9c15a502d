import { Body, Controller, Get, Post } from '@nestjs/common';
import type { Account } from '../generated/prisma/client.js';
import { CreateAccountDto } from './accounts.dto.js';
import { AccountsService } from './accounts.service.js';

/** The chart of accounts of the company in the path. */
@Controller(':tenantSlug/accounts')
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  @Get()
  chart(): Promise<Account[]> {
    return this.accounts.chart();
  }

  @Post()
  create(@Body() dto: CreateAccountDto): Promise<Account> {
    return this.accounts.create(dto);
  }
}
