import { Body, Controller, Get, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import type { Customer } from './customer.entity.js';
import { CustomersRepository } from './customers.repository.js';
import { CreateCustomerDto } from './dto/create-customer.dto.js';

/** Tenant data: every route needs the `x-tenant-id` header (400 `TENANT_REQUIRED` without it). */
@Controller('customers')
export class CustomersController {
  constructor(private readonly customers: CustomersRepository) {}

  @Post()
  create(@Body() body: CreateCustomerDto): Promise<Customer> {
    return this.customers.create(body);
  }

  /** Read from the tenant's read database. */
  @Get()
  findAll(): Promise<Customer[]> {
    return this.customers.findAll();
  }

  @Get(':id')
  findOne(@Param('id', new ParseUUIDPipe()) id: string): Promise<Customer> {
    return this.customers.findOne(id);
  }
}
