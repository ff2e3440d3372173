import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
  NotFoundException,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { redisUnavailableReason } from '@app/redis';
import { DomainError, httpStatusOf } from './errors';

const errorNameOf: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  431: 'headers_too_large',
  503: 'unavailable',
};

/**
 * Every `error` code an answer may carry: the domain errors', those of HTTP errors raised before
 * or outside a service (Nest, Fastify), and `internal` for anything unexpected.
 */
export const ERROR_CODES: readonly string[] = [
  ...new Set([...Object.keys(httpStatusOf), ...Object.values(errorNameOf), 'internal']),
];

/** The body every error answer has: a stable machine code and a sentence for people. */
export interface ErrorBody {
  error: string;
  message: string;
  [extra: string]: unknown;
}

/** Turns whatever was thrown into a status and an {@link ErrorBody}; never leaks a stack. */
export function toErrorResponse(
  exception: unknown,
  logger: Logger,
  unknownRouteHint?: string,
): { status: number; body: ErrorBody } {
  if (exception instanceof DomainError) {
    return {
      status: httpStatusOf[exception.code],
      body: { ...exception.details, error: exception.code, message: exception.message },
    };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    if (isHealthReport(response)) {
      // Terminus' report already names what failed; keep it whole for probes and people.
      const failed = Object.keys(response.error ?? {}).join(', ');
      return {
        status,
        body: { ...response, message: `Not ready: ${failed || 'unknown'}` } as unknown as ErrorBody,
      };
    }
    let message = exception.message;
    if (typeof response === 'object' && response !== null && 'message' in response) {
      const raw = response.message;
      message = Array.isArray(raw) ? raw.join('; ') : typeof raw === 'string' ? raw : message;
    }
    if (
      unknownRouteHint &&
      exception instanceof NotFoundException &&
      /^Cannot \w+ /.test(message)
    ) {
      // Nest's answer for a route this app does not have: often the other app's route.
      message = `${message}: no such route here; ${unknownRouteHint}`;
    }
    return { status, body: { error: errorNameOf[status] ?? 'error', message } };
  }
  // Fastify's own errors (body too large, bad JSON, wrong content type) carry a statusCode.
  const statusCode = (exception as { statusCode?: unknown })?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    const raw = (exception as { message?: unknown }).message;
    const message = typeof raw === 'string' ? raw : 'Bad request';
    return {
      status: statusCode,
      body: { error: errorNameOf[statusCode] ?? 'bad_request', message },
    };
  }
  const unavailable = redisUnavailableReason(exception);
  if (unavailable !== undefined) {
    // Fail closed: without Redis nothing can be checked, so nothing is allowed.
    return {
      status: 503,
      body: {
        error: 'unavailable',
        message: unavailable,
      },
    };
  }
  const errorId = randomUUID();
  logger.error({ err: exception, errorId }, `Unhandled error ${errorId}`);
  return {
    status: HttpStatus.INTERNAL_SERVER_ERROR,
    body: { error: 'internal', message: `Internal error (id ${errorId})`, errorId },
  };
}

function isHealthReport(
  value: unknown,
): value is { status: string; details: object; error?: Record<string, unknown> } {
  return typeof value === 'object' && value !== null && 'details' in value && 'status' in value;
}

/** The one HTTP filter: domain codes to statuses through an exhaustive map. */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  constructor(private readonly unknownRouteHint?: string) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') {
      throw exception;
    }
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { status, body } = toErrorResponse(exception, this.logger, this.unknownRouteHint);
    if (typeof body.retryAfterSeconds === 'number') {
      void reply.header('retry-after', String(body.retryAfterSeconds));
    }
    void reply.status(status).header('content-type', 'application/json').send(body);
  }
}
