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

/** Structured JSON logs for one app, named so that lines from both apps can be told apart. */
export function loggingModule(config: AppConfig, app: string): DynamicModule {
  return LoggerModule.forRoot({
    // No per-request middleware: building request loggers (and AsyncLocalStorage around every
    // request) cost about a third of a heartbeat's CPU (bench/heartbeat), and nothing reads them.
    forRoutes: [],
    pinoHttp: {
      level: config.logLevel,
      name: app,
      redact: { paths: redactedPaths, censor: '[redacted]' },
      // Heartbeats are the hottest path; per-request lines would drown everything else.
      autoLogging: false,
      quietReqLogger: true,
    },
  });
}
