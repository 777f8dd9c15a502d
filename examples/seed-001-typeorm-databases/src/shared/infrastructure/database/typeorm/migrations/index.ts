import { CreateCustomers1700000000000 } from './1700000000000-CreateCustomers.js';

/** The tenant databases' migrations, oldest first: applied to each database when it is created. Add new classes at the end. */
export const TENANT_MIGRATIONS = [CreateCustomers1700000000000];
