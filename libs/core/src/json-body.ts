import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { DomainError } from './errors';

/** Marks a route that also takes `application/x-www-form-urlencoded` (RFC 7662 does). */
export const AcceptsForm = () => RouteConfig({ acceptsForm: true });

interface MarkedRequest {
  unsupportedBody?: string;
}

/**
 * Marks a request whose body is not JSON (or a form, where a route accepts one), for
 * {@link refuseUnsupportedBody} to refuse with 415 once the caller is authenticated (a caller
 * without valid credentials hears that first). Fastify parses text and forms too, and such a
 * body would otherwise reach validation and come back as a list of missing fields, which says
 * nothing about the real mistake. A Fastify hook and a check in the global guard, not a Nest
 * interceptor: an interceptor on every request halved the heartbeat's throughput.
 */
export function markNonJsonBodies(fastify: FastifyInstance): void {
  fastify.addHook('preValidation', (request, _reply, done) => {
    if (request.body !== undefined && request.body !== null) {
      const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      const form = (request.routeOptions.config as { acceptsForm?: boolean }).acceptsForm === true;
      if (type !== 'application/json' && !(form && type === 'application/x-www-form-urlencoded')) {
        (request as MarkedRequest).unsupportedBody =
          'Send the body as JSON, with "content-type: application/json"' +
          `${form ? ' (or as a form)' : ''}; this one came as ${type || 'no content type'}`;
      }
    }
    done();
  });
}

/** Throws 415 for a request {@link markNonJsonBodies} marked; the global guard calls it. */
export function refuseUnsupportedBody(request: object): void {
  const message = (request as MarkedRequest).unsupportedBody;
  if (message !== undefined) {
    throw new DomainError('unsupported_media_type', message);
  }
}
