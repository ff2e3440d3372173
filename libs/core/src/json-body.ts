import { parse as parseForm } from 'node:querystring';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { badRequest, DomainError } from './errors';

/**
 * How deeply a JSON body may nest: arrays and objects inside one another, the body itself
 * being level 1. Action params are arbitrary JSON, and 64 is far more than any needs; deeper
 * bodies are refused at parsing, because validation walks a body recursively and would
 * overflow the stack (64 KiB of brackets nest 32,768 levels deep).
 */
export const MAX_JSON_DEPTH = 64;

/** Marks a route that also takes `application/x-www-form-urlencoded` (RFC 7662 does). */
export const AcceptsForm = () => RouteConfig({ acceptsForm: true });

interface MarkedRequest {
  unsupportedBody?: string;
}

/**
 * The body parsers every app has: JSON (Fastify's own, with its `__proto__` and `constructor`
 * checks, refusing bodies that nest deeper than {@link MAX_JSON_DEPTH}), forms, and any other
 * type read as bytes: without a parser Fastify answers 415 before the guard runs, while
 * {@link markNonJsonBodies} marks such a body for a 415 after authentication, as for text.
 * Registered here rather than by Nest (create the app with `bodyParser: false`), whose JSON
 * parser would clash with this one.
 */
export function registerBodyParsers(fastify: FastifyInstance): void {
  const { onProtoPoisoning, onConstructorPoisoning } = fastify.initialConfig;
  const parseJson = fastify.getDefaultJsonParser(
    onProtoPoisoning ?? 'error',
    onConstructorPoisoning ?? 'error',
  );
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // Fastify's parser first, so that an empty or invalid body is answered as it always was.
    void parseJson(request, body as string, (error, value: unknown) => {
      if (error) {
        done(error);
      } else if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        // Every route's body is an object; `null` would pass for "no options" and an array
        // would meet validation as a list of missing fields.
        done(badRequest(`The body must be a JSON object ({…}), not ${jsonKind(value)}`));
      } else if (nestsDeeperThan(value, MAX_JSON_DEPTH)) {
        done(badRequest(`The body nests deeper than ${MAX_JSON_DEPTH} levels`));
      } else {
        done(null, value);
      }
    });
  });
  // What Nest's own form parser does (fast-querystring follows node:querystring).
  fastify.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => done(null, parseForm(body as string)),
  );
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  );
}

function jsonKind(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/** Whether `value` has arrays or objects nested more than `limit` deep; without recursion. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: Array<{ node: unknown; depth: number }> = [{ node: value, depth: 1 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { node, depth } = next;
    if (typeof node === 'object' && node !== null) {
      if (depth > limit) {
        return true;
      }
      for (const child of Object.values(node)) {
        pending.push({ node: child, depth: depth + 1 });
      }
    }
  }
  return false;
}

/**
 * Marks a request whose body is not JSON (or a form, where a route accepts one), for
 * {@link refuseUnsupportedBody} to refuse with 415 once the caller is authenticated (a caller
 * without valid credentials hears that first). Text, forms and other types are parsed too, and
 * such a body would otherwise reach validation and come back as a list of missing fields, which
 * says nothing about the real mistake. A Fastify hook and a check in the global guard, not a
 * Nest interceptor: an interceptor on every request halved the heartbeat's throughput.
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
