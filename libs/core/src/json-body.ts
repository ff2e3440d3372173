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
 * checks, refusing bodies that nest deeper than {@link MAX_JSON_DEPTH} or name a key twice in
 * one object), forms, and any other
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
      } else {
        const problem = jsonTextProblem(body as string, MAX_JSON_DEPTH);
        if (problem === undefined) {
          done(null, value);
        } else if ('tooDeep' in problem) {
          done(badRequest(`The body nests deeper than ${MAX_JSON_DEPTH} levels`));
        } else {
          done(
            badRequest(
              `The body names ${JSON.stringify(problem.duplicateKey)} twice in one object; ` +
                'send each field once',
            ),
          );
        }
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

/**
 * What is wrong with a JSON text that parsed: nesting deeper than `maxDepth` (the text itself
 * is level 1), or an object naming a key twice. `JSON.parse` keeps the last of two same keys
 * (`{"role":"viewer","role":"admin"}` is an admin), where a proxy, a log or another parser may
 * read the first: the request would mean different things to different readers. One pass over
 * the text, without recursion; `text` must be valid JSON.
 */
export function jsonTextProblem(
  text: string,
  maxDepth: number,
): { tooDeep: true } | { duplicateKey: string } | undefined {
  // Most bodies (a heartbeat's `{}`) can be neither: nesting deeper takes two characters a
  // level, and a key named twice takes two colons.
  if (text.length <= 2 * maxDepth && text.indexOf(':') === text.lastIndexOf(':')) {
    return undefined;
  }
  // One entry per open container: the keys seen so far in an object, null for an array.
  const open: Array<Set<string> | null> = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // To the closing quote: the next one that is not escaped (an odd run of backslashes).
      const start = i;
      i = text.indexOf('"', i + 1);
      while (isEscaped(text, i)) {
        i = text.indexOf('"', i + 1);
      }
      const keys = open[open.length - 1];
      if (keys && isFollowedByColon(text, i + 1)) {
        const raw = text.slice(start + 1, i);
        // Escapes decoded, as a parser would: "\u0072ole" is "role".
        const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (keys.has(key)) {
          return { duplicateKey: key };
        }
        keys.add(key);
      }
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (open.length === maxDepth) {
        return { tooDeep: true };
      }
      open.push(c === OPEN_BRACE ? new Set() : null);
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      open.pop();
    }
  }
  return undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** Whether the character at `at` follows an odd number of backslashes. */
function isEscaped(text: string, at: number): boolean {
  let i = at - 1;
  while (text.charCodeAt(i) === BACKSLASH) {
    i--;
  }
  return (at - 1 - i) % 2 === 1;
}

/** Whether the next character of `text` from `from` that is not JSON whitespace is a colon. */
function isFollowedByColon(text: string, from: number): boolean {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) {
      return c === COLON;
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
