/** Injection token of the {@link ApiConfig}. */
export const API_CONFIG = Symbol.for('tenantry:api:config');
/** Injection token of the pino logger. */
export const LOGGER = Symbol.for('tenantry:api:logger');
/** Who the admin API records in the tenants' activity log. */
export const ADMIN_ACTOR = 'admin-api';
/** `iss` and `aud` of the tenant tokens this service issues. */
export const TOKEN_ISSUER = 'tenantry-api';
export const TOKEN_AUDIENCE = 'tenantry-api:tenant';
