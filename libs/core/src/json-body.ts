import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import type { ErrorBody } from './http-exception.filter';

/** Marks a route that also takes `application/x-www-form-urlencoded` (RFC 7662 does). */
export const AcceptsForm = () => RouteConfig({ acceptsForm: true });

/**
 * Refuses, with 415, a request body that is not JSON (or a form, where a route accepts one).
 * Fastify parses text and forms too, and such a body would otherwise reach validation and come
 * back as a list of missing fields, which says nothing about the real mistake. A Fastify hook,
 * not a Nest interceptor: an interceptor on every request halved the heartbeat's throughput.
 */
export function refuseNonJsonBodies(fastify: FastifyInstance): void {
  fastify.addHook('preValidation', (request, reply, done) => {
    if (request.body === undefined || request.body === null) {
      done();
      return;
    }
    const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const form = (request.routeOptions.config as { acceptsForm?: boolean }).acceptsForm === true;
    if (type === 'application/json' || (form && type === 'application/x-www-form-urlencoded')) {
      done();
      return;
    }
    const body: ErrorBody = {
      error: 'unsupported_media_type',
      message:
        'Send the body as JSON, with "content-type: application/json"' +
        `${form ? ' (or as a form)' : ''}; this one came as ${type || 'no content type'}`,
    };
    void reply.code(415).send(body);
  });
}
