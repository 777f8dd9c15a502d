import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { BaseTypeormTenantRepository } from '../../shared/infrastructure/database/typeorm/base-typeorm/base-typeorm-tenant/base-typeorm-tenant.repository.js';
import { TypeormTenantService } from '../../shared/infrastructure/database/typeorm/services/typeorm-tenant/typeorm-tenant.service.js';
import { Customer } from './customer.entity.js';
import type { CreateCustomerDto } from './dto/create-customer.dto.js';

/** Seed 001's `MyTenantRepository`: reads on the tenant's read database, writes on its primary. */
@Injectable()
export class CustomersRepository extends BaseTypeormTenantRepository {
  constructor(typeormTenantService: TypeormTenantService) {
    super(typeormTenantService);
  }

  async findAll(): Promise<Customer[]> {
    return this.read((manager) => manager.getRepository(Customer).find({ order: { createdAt: 'ASC' } }));
  }

  async findOne(id: string): Promise<Customer> {
    const customer = await this.read((manager) => manager.getRepository(Customer).findOneBy({ id }));
    if (customer === null) throw new NotFoundException(`Customer with ID ${id} not found`);
    return customer;
  }

  async create(input: CreateCustomerDto): Promise<Customer> {
    try {
      return await this.write((manager) => manager.getRepository(Customer).save(manager.create(Customer, input)));
    } catch (err) {
      if ((err as { driverError?: { code?: string } }).driverError?.code === '23505')
        throw new ConflictException(`A customer with email ${input.email} exists`);
      throw err;
    }
  }
}
