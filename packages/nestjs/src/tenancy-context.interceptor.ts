import { Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Observable, type Subscription } from 'rxjs';
import { currentTenant, type Tenancy } from '@tenantry/core';
import { TENANCY } from './tenancy.constants.js';
import { requestTenancy } from './tenancy-request.js';

/**
 * Safety net installed by `TenancyModule`: when something between the middleware and the handler
 * dropped the AsyncLocalStorage context (a callback-style middleware mounted after
 * `TenancyMiddleware`, for instance), the handler is run inside `tenancy.run()` again. Costs
 * nothing when the context is intact.
 */
@Injectable()
export class TenancyContextInterceptor implements NestInterceptor {
  readonly #tenancy: Tenancy;

  constructor(@Inject(TENANCY) tenancy: Tenancy) {
    this.#tenancy = tenancy;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const tenant = requestTenancy(context.switchToHttp().getRequest() as object)?.tenant;
    if (tenant === undefined || currentTenant()?.id === tenant.id) return next.handle();
    return new Observable((subscriber) => {
      let subscription: Subscription | undefined;
      let closed = false;
      this.#tenancy
        .run(tenant, () => {
          if (!closed) subscription = next.handle().subscribe(subscriber);
        })
        .catch((err: unknown) => subscriber.error(err));
      return () => {
        closed = true;
        subscription?.unsubscribe();
      };
    });
  }
}
