import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import type { User } from '../generated/prisma/client.js';
import { PlanLimitsService } from '../tenancy/plan-limits.service.js';
import { TenantPrismaService } from '../tenancy/tenant-prisma.service.js';
import type { CreateUserDto } from './users.dto.js';

/** The company's users, as seed 003 writes it: `this.tenantPrisma.user…`, on the request's company database. */
@Injectable()
export class UsersService {
  constructor(
    private readonly tenantPrisma: TenantPrismaService,
    private readonly limits: PlanLimitsService,
  ) {}

  async findUsers(): Promise<User[]> {
    return await this.tenantPrisma.user.findMany({ orderBy: { id: 'asc' } });
  }

  /** 402 `PLAN_LIMIT_REACHED` when the plan's users are all taken; 409 `USER_EXISTS` on a taken email. */
  async create(dto: CreateUserDto): Promise<User> {
    return await this.limits.create('users', async (tx) => {
      // The table is locked for inserts until this transaction ends: checking first is exact.
      if ((await tx.user.findUnique({ where: { email: dto.email } })) !== null)
        throw new ConflictException({ code: 'USER_EXISTS', message: `a user with email ${dto.email} exists` });
      return await tx.user.create({ data: { email: dto.email, name: dto.name, ...(dto.role === undefined ? {} : { role: dto.role }) } });
    });
  }

  /** Frees a place of the plan. */
  async remove(id: number): Promise<void> {
    const { count } = await this.tenantPrisma.user.deleteMany({ where: { id } });
    if (count === 0) throw new NotFoundException({ code: 'USER_NOT_FOUND', message: `no user ${id}` });
  }
}
