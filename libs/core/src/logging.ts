import { LoggerModule } from 'nestjs-pino';
import type { DynamicModule } from '@nestjs/common';
import type { AppConfig } from '@app/config';

/** Paths pino blanks out wherever they appear in a log line: credentials never reach logs. */
export const redactedPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.body.token',
  'req.body.apiKey',
  '*.token',
  '*.apiKey',
  '*.deviceToken',
  '*.secret',
  '*.password',
  'apiKey',
  'token',
];

/**
 * Nest's own start-up lines (a line per module, controller and route: about 80 per start).
 * Kept at `debug`: at `info` they buried the one thing a first start must show, the admin key.
 */
const FRAMEWORK_CONTEXTS = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestFactory',
  'NestApplication',
  'WebSocketsController',
]);

/** Structured JSON logs for one app, named so that lines from both apps can be told apart. */
export function loggingModule(config: AppConfig, app: string): DynamicModule {
  return LoggerModule.forRoot({
    // No per-request middleware: building request loggers (and AsyncLocalStorage around every
    // request) cost about a third of a heartbeat's CPU (bench/heartbeat), and nothing reads them.
    forRoutes: [],
    pinoHttp: {
      level: config.logLevel,
      name: app,
      hooks: {
        logMethod(args, method, level) {
          const first: unknown = args[0];
          const context =
            typeof first === 'object' && first !== null
              ? (first as { context?: unknown }).context
              : undefined;
          // pino's levels: 30 is info, 20 debug. Only info: the framework's warnings and errors
          // (a port in use, say) stay what they are.
          if (level === 30 && typeof context === 'string' && FRAMEWORK_CONTEXTS.has(context)) {
            if (this.isLevelEnabled('debug')) {
              this.debug(...(args as [object, string]));
            }
            return;
          }
          method.apply(this, args);
        },
      },
      redact: { paths: redactedPaths, censor: '[redacted]' },
      // Heartbeats are the hottest path; per-request lines would drown everything else.
      autoLogging: false,
      quietReqLogger: true,
    },
  });
}
