import { ConflictException, Injectable } from '@nestjs/common';
import type { Account } from '../generated/prisma/client.js';
import { PlanLimitsService } from '../tenancy/plan-limits.service.js';
import { TenantPrismaService } from '../tenancy/tenant-prisma.service.js';
import type { CreateAccountDto } from './accounts.dto.js';

/** The company's chart of accounts: seeded at provisioning, extended within the plan's limit. */
@Injectable()
export class AccountsService {
  constructor(
    private readonly tenantPrisma: TenantPrismaService,
    private readonly limits: PlanLimitsService,
  ) {}

  async chart(): Promise<Account[]> {
    return await this.tenantPrisma.account.findMany({ orderBy: { code: 'asc' } });
  }

  /** 402 `PLAN_LIMIT_REACHED` past the plan's accounts; 409 `ACCOUNT_EXISTS` on a taken code. */
  async create(dto: CreateAccountDto): Promise<Account> {
    return await this.limits.create('accounts', async (tx) => {
      if ((await tx.account.findUnique({ where: { code: dto.code } })) !== null)
        throw new ConflictException({ code: 'ACCOUNT_EXISTS', message: `account ${dto.code} exists` });
      return await tx.account.create({ data: { code: dto.code, name: dto.name, type: dto.type } });
    });
  }
}
