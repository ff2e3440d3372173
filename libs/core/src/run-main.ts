import type { INestApplication } from '@nestjs/common';
import { AppConfig, loadConfig } from '@app/config';
import { closeConnection, connectOrExplain, createRedisConnection } from '@app/redis';

/**
 * Starts an app from `main.ts`. Any start-up failure (bad configuration, Redis unreachable)
 * ends the process with one clear line on stderr and exit code 1, not a stack trace.
 * Shutdown on SIGTERM/SIGINT is bounded by SHUTDOWN_TIMEOUT_MS.
 */
export async function runMain(
  name: string,
  start: (config: AppConfig) => Promise<{ app: INestApplication; url: string }>,
): Promise<void> {
  try {
    const config = loadConfig(process.env);
    await probeRedis(config.redisUrl);
    const { url } = await start(config);
    // Nest reports a wildcard address as 127.0.0.1; say that other machines can reach it too.
    const everywhere = ['0.0.0.0', '::'].includes(config.host)
      ? ` (every interface: HOST=${config.host})`
      : '';
    process.stdout.write(`${name} listening on ${url}${everywhere}\n`);
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        // Nest's shutdown hooks close the app; this only bounds how long that may take.
        setTimeout(() => {
          process.stderr.write(
            `${name}: shutdown took over ${config.shutdownTimeoutMs} ms, exiting\n`,
          );
          process.exit(1);
        }, config.shutdownTimeoutMs).unref();
      });
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${name}: cannot start: ${message}\n`);
    process.exit(1);
  }
}

/**
 * Listens on `port` at the configured HOST, or fails saying which variable to change: Node's
 * own errors (`getaddrinfo ENOTFOUND x`, `listen EADDRINUSE`) name neither.
 *
 * @param portName - the variable `port` came from (KILLSWITCH_PORT, RELAY_PORT)
 */
export async function listenOrExplain(
  app: { listen(options: { port: number; host: string }): Promise<unknown> },
  port: number,
  portName: string,
  host: string,
): Promise<void> {
  try {
    await app.listen({ port, host });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'EADDRINUSE') {
      throw new Error(`${portName}=${port} is in use on HOST=${host}: choose another port`);
    }
    if (code === 'EACCES') {
      throw new Error(
        `${portName}=${port} may not be used by this process (ports below 1024 need privileges)`,
      );
    }
    if (['ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL'].includes(code)) {
      throw new Error(
        `HOST=${host} is not an address of this machine (${code}): use one of its addresses, ` +
          'or 0.0.0.0 for every interface',
      );
    }
    throw error;
  }
}

/** Fails start-up with one line when Redis does not answer, before Nest logs anything. */
async function probeRedis(url: string): Promise<void> {
  const probe = createRedisConnection(url, 'command', 'startup-probe');
  try {
    await connectOrExplain(probe, url);
  } finally {
    await closeConnection(probe);
  }
}
