import {
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import type { Observable } from 'rxjs';
import { DomainError } from './errors';

const ACCEPTS_FORM = 'killswitch:acceptsForm';

/** Marks a route that also takes `application/x-www-form-urlencoded` (RFC 7662 does). */
export const AcceptsForm = () => SetMetadata(ACCEPTS_FORM, true);

/**
 * Refuses, with 415, a request body that is not JSON (or a form, where a route accepts one).
 * Fastify parses text and forms too, and such a body would otherwise reach validation and come
 * back as a list of missing fields, which says nothing about the real mistake.
 */
@Injectable()
export class JsonBodyInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const request = context.switchToHttp().getRequest<FastifyRequest>();
      if (request.body !== undefined && request.body !== null) {
        const header = request.headers['content-type'] ?? '';
        const type = header.split(';')[0].trim().toLowerCase();
        const form = this.reflector.getAllAndOverride<boolean | undefined>(ACCEPTS_FORM, [
          context.getHandler(),
          context.getClass(),
        ]);
        if (
          type !== 'application/json' &&
          !(form && type === 'application/x-www-form-urlencoded')
        ) {
          throw new DomainError(
            'unsupported_media_type',
            `Send the body as JSON, with "content-type: application/json"` +
              `${form ? ' (or as a form)' : ''}; this one came as ${type || 'no content type'}`,
          );
        }
      }
    }
    return next.handle();
  }
}
