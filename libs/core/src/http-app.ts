import { Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { answerClientError, answerFrameworkError, MAX_PARAM_LENGTH } from './framework-errors';
import { HttpExceptionFilter } from './http-exception.filter';
import { markNonJsonBodies, registerBodyParsers } from './json-body';
import { API_SECURITY_HEADERS, responseWithHeaders } from './security-headers';
import { InputValidationPipe, VALIDATION_RULES } from './validation';

export interface HttpAppOptions {
  /** Largest request body accepted, in bytes; larger ones get 413. */
  bodyLimit?: number;
  /** Proxies whose X-Forwarded-For is believed; 0 (the default) believes none. */
  trustProxyHops?: number;
  /** Logs buffered until the pino logger is ready; off in tests that pass their own logger. */
  bufferLogs?: boolean;
  /** No framework logs at all before pino takes over (tests). */
  quiet?: boolean;
  /** Said after "Cannot POST /x" for a route this app does not have: where to look instead. */
  unknownRouteHint?: string;
  /**
   * Headers every answer carries (a route may set its own instead).
   * @defaultValue {@link API_SECURITY_HEADERS}
   */
  securityHeaders?: Readonly<Record<string, string>>;
}

/**
 * Creates a Fastify-backed Nest app with what every killswitch app shares: pino logs, strict
 * validation (unknown fields rejected), JSON bodies only (forms where a route says
 * {@link AcceptsForm}; RFC 7662 introspection needs them), the one exception filter, the same
 * `{error, message}` answers for what Fastify and Node refuse before it, security headers on
 * every answer, and shutdown hooks.
 */
export async function createHttpApp(
  rootModule: Type<unknown>,
  options: HttpAppOptions = {},
): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    rootModule,
    new FastifyAdapter({
      bodyLimit: options.bodyLimit ?? 64 * 1024,
      // A client may send any X-Forwarded-For: believed only from proxies the operator names.
      trustProxy: options.trustProxyHops ? options.trustProxyHops : false,
      routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
      frameworkErrors: answerFrameworkError,
      clientErrorHandler: answerClientError,
      http: {
        ServerResponse: responseWithHeaders(options.securityHeaders ?? API_SECURITY_HEADERS),
      },
    }),
    // abortOnError off: start-up failures reach runMain, which prints one line and exits 1.
    // bodyParser off: registerBodyParsers below sets them all; Nest's JSON parser would clash.
    {
      bufferLogs: options.bufferLogs ?? true,
      abortOnError: false,
      bodyParser: false,
      ...(options.quiet ? { logger: false } : {}),
    },
  );
  app.useLogger(app.get(Logger));
  app.useGlobalPipes(new InputValidationPipe({ ...VALIDATION_RULES, transform: true }));
  registerBodyParsers(app.getHttpAdapter().getInstance());
  markNonJsonBodies(app.getHttpAdapter().getInstance());
  app.useGlobalFilters(new HttpExceptionFilter(options.unknownRouteHint));
  // Only the signals meant to stop a service; SIGUSR2 and friends stay free for profilers.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  return app;
}
