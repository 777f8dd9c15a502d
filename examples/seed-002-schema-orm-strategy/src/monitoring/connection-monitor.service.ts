import { Inject, Injectable } from '@nestjs/common';
import type { Tenancy } from '@tenantry/core';
import { InjectTenancy } from '@tenantry/nestjs';
import { TenancyMetrics } from '@tenantry/nestjs/metrics';
import { ORM_STRATEGY, type IOrmStrategy } from '../orm/orm-strategy.interface.js';

/** One server's connections (`<id>:replica` for a read replica). */
export interface ServerConnections {
  readonly server: string;
  readonly activeConnections: number;
  readonly idleConnections: number;
  readonly totalConnections: number;
  /** The server's budget: never more connections than this, whatever the number of tenants. */
  readonly maxConnections: number;
  /** Callers waiting for a connection now. */
  readonly waiting: number;
  readonly checkouts: number;
}

/** One tenant's work since the process started. */
export interface TenantConnections {
  readonly tenant: string;
  readonly id: string;
  readonly server: string;
  /** Units of work (a connection checked out, used, released). */
  readonly unitsOfWork: number;
  readonly errors: number;
  /** Milliseconds a connection was held, in total, on average and at most. */
  readonly totalMs: number;
  readonly averageMs: number;
  readonly maxMs: number;
  readonly lastAt: Date;
}

/** Seed 002's `ConnectionMetrics`, with the per-server and per-tenant figures it promised. */
export interface ConnectionMetrics {
  readonly orm: IOrmStrategy['type'];
  readonly activeConnections: number;
  readonly idleConnections: number;
  readonly totalConnections: number;
  readonly servers: readonly ServerConnections[];
  /** The most active tenants, most units of work first. */
  readonly tenants: readonly TenantConnections[];
}

/**
 * Seed 002's `ConnectionMonitorService`. The seed counted connections of its per-tenant
 * connections; here every connection is in Tenantry's pools (one per server, shared by its
 * tenants), read from `tenancy.stats()`, and the per-tenant figures are tallied from each unit of
 * work by `TenancyMetrics` (the `onUnitOfWork` hook).
 */
@Injectable()
export class ConnectionMonitorService {
  constructor(
    @InjectTenancy() private readonly tenancy: Tenancy,
    @Inject(TenancyMetrics) private readonly metrics: TenancyMetrics,
    @Inject(ORM_STRATEGY) private readonly orm: IOrmStrategy,
  ) {}

  getConnectionMetrics(tenantLimit = 20): ConnectionMetrics {
    const servers = this.tenancy.stats().servers.map((s): ServerConnections => ({
      server: s.server,
      activeConnections: s.inUse,
      idleConnections: s.idle,
      totalConnections: s.total,
      maxConnections: s.max,
      waiting: s.waiting,
      checkouts: s.checkouts,
    }));
    const sum = (key: 'activeConnections' | 'idleConnections' | 'totalConnections') => servers.reduce((n, s) => n + s[key], 0);
    return {
      orm: this.orm.type,
      activeConnections: sum('activeConnections'),
      idleConnections: sum('idleConnections'),
      totalConnections: sum('totalConnections'),
      servers,
      tenants: this.metrics.tenantUsage(tenantLimit).map((u) => ({
        tenant: u.tenant.slug,
        id: u.tenant.id,
        server: u.tenant.server,
        unitsOfWork: u.unitsOfWork,
        errors: u.errors,
        totalMs: u.totalMs,
        averageMs: u.unitsOfWork === 0 ? 0 : Math.round((u.totalMs / u.unitsOfWork) * 100) / 100,
        maxMs: u.maxMs,
        lastAt: u.lastAt,
      })),
    };
  }
}
