'use strict';
// The nestjs-multitenant app of bench:http. Environment: DATABASE_URL (its own database),
// PORT (0: any), PEER_SYNCHRONIZE=1 for the setup start. Prints "listening on <url>" when ready.
require('reflect-metadata');
const { NestFactory } = require('@nestjs/core');
const { appModule } = require('./app.module');

async function main() {
  const url = new URL(process.env.DATABASE_URL);
  const db = {
    host: url.hostname,
    port: Number(url.port || 5432),
    username: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.slice(1)),
  };
  const app = await NestFactory.create(appModule(db, process.env.PEER_SYNCHRONIZE === '1'), { logger: ['error', 'warn'] });
  await app.listen(Number(process.env.PORT || 0), '127.0.0.1');
  const { port } = app.getHttpServer().address();
  process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await app.close().catch((err) => process.stderr.write(`close failed: ${err.stack}\n`));
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err) => {
  process.stderr.write(`nestjs-multitenant app failed to start: ${err && err.stack ? err.stack : String(err)}\n`);
  process.exit(1);
});
