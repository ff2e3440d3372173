import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { RouteOptions } from 'fastify';
import type { RunningApp } from './apps';
import type { Api, Reply } from './http';

/** One operation of the document: `GET /v1/agents/{id}` and what it says of it. */
export interface Operation {
  method: string;
  path: string;
  spec: any;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'];
const DOCUMENT_ID = 'openapi.json';

/**
 * The API's OpenAPI document, able to check an answer against it: its status must be one the
 * operation lists, and its body valid against that answer's schema for its content type.
 * Schemas are checked closed: an object schema that lists properties and says nothing of
 * others takes no others, so a field the code sends and the document leaves out fails too.
 */
export class OpenApiDocument {
  private readonly ajv = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true });
  private readonly validators = new Map<string, ValidateFunction>();
  /** The answers checked so far, as `GET /v1/agents/{id} 200`. */
  readonly checked = new Set<string>();

  constructor(readonly spec: any) {
    addFormats(this.ajv);
    // OpenAPI's own keyword, an annotation JSON Schema does not know.
    this.ajv.addVocabulary(['example']);
    this.ajv.addSchema({
      $id: DOCUMENT_ID,
      definitions: forValidation(spec.components?.schemas ?? {}),
    });
  }

  operations(): Operation[] {
    return Object.entries<any>(this.spec.paths).flatMap(([path, item]) =>
      METHODS.filter((method) => item[method]).map((method) => ({
        method: method.toUpperCase(),
        path,
        spec: item[method],
      })),
    );
  }

  operation(method: string, path: string): any {
    const spec = this.spec.paths[path]?.[method.toLowerCase()];
    if (!spec) {
      throw new Error(`${method} ${path} is not in the OpenAPI document`);
    }
    return spec;
  }

  /** Throws unless `reply` is an answer the document gives for `method path`. */
  expectAnswer(method: string, path: string, reply: Reply): void {
    const operation = `${method} ${path}`;
    const responses = this.operation(method, path).responses ?? {};
    const answer = responses[String(reply.status)];
    const body = JSON.stringify(reply.body)?.slice(0, 2000);
    if (!answer) {
      throw new Error(
        `${operation} answered ${reply.status}, which the document does not list ` +
          `(it lists ${Object.keys(responses).join(', ')}): ${body}`,
      );
    }
    const type = (reply.headers.get('content-type') ?? '').split(';')[0].trim();
    const schema = answer.content?.[type]?.schema;
    if (!schema) {
      throw new Error(
        `${operation} ${reply.status} has no schema for ${type || 'no content type'}`,
      );
    }
    const validate = this.validator(schema);
    if (!validate(reply.body)) {
      throw new Error(
        `${operation} ${reply.status} does not match the document: ` +
          `${this.ajv.errorsText(validate.errors, { dataVar: 'body' })}\n${body}`,
      );
    }
    this.checked.add(`${operation} ${reply.status}`);
  }

  private validator(schema: object): ValidateFunction {
    const key = JSON.stringify(schema);
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile(forValidation(schema));
      this.validators.set(key, validate);
    }
    return validate;
  }
}

/**
 * A schema of the document as Ajv reads it: references into the registered document, and
 * every object schema that lists its properties closed to others.
 */
function forValidation(schema: any): any {
  if (Array.isArray(schema)) {
    return schema.map(forValidation);
  }
  if (typeof schema !== 'object' || schema === null) {
    return schema;
  }
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$ref' && typeof value === 'string') {
      copy.$ref = value.replace('#/components/schemas/', `${DOCUMENT_ID}#/definitions/`);
    } else if (key === 'example' || key === 'enum' || key === 'default') {
      copy[key] = value;
    } else {
      copy[key] = forValidation(value);
    }
  }
  if (copy.properties && !('additionalProperties' in copy)) {
    copy.additionalProperties = false;
  }
  return copy;
}

/**
 * Calls `method template` with `params` in its path, checks the answer against the document,
 * and returns it.
 */
export async function documentedCall(
  document: OpenApiDocument,
  api: Api,
  method: string,
  template: string,
  {
    params = {},
    query = '',
    body,
    headers,
  }: {
    params?: Record<string, string>;
    query?: string;
    body?: unknown;
    headers?: Record<string, string>;
  } = {},
): Promise<Reply> {
  const path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (params[name] === undefined) {
      throw new Error(`no value for {${name}} of ${template}`);
    }
    return encodeURIComponent(params[name]);
  });
  const reply = await api.request(method, `${path}${query}`, body, headers);
  document.expectAnswer(method, template, reply);
  return reply;
}

/** The app's document, as any client fetches it. */
export async function fetchDocument(app: RunningApp): Promise<OpenApiDocument> {
  const reply = await app.anonymous.get('/docs/openapi.json');
  expect(reply.status).toBe(200);
  return new OpenApiDocument(reply.body);
}

/**
 * A `prepare` hook for an app under test that adds every route it registers to `routes`, as the
 * document writes them: `GET /v1/agents/{id}`.
 */
export function recordRoutes(routes: Set<string>): (app: NestFastifyApplication) => void {
  return (app) => {
    app
      .getHttpAdapter()
      .getInstance()
      .addHook('onRoute', (route: RouteOptions) => {
        for (const method of [route.method].flat()) {
          routes.add(`${method} ${route.url.replace(/:(\w+)/g, '{$1}')}`);
        }
      });
  };
}
