import { applyDecorators } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  getSchemaPath,
  SwaggerModule,
  type OpenAPIObject,
  type SchemaObject,
} from '@nestjs/swagger';
import { ERROR_CODES } from './http-exception.filter';

/**
 * Every error answer (`ErrorBody`, written by the one exception filter): a stable code and a
 * sentence for people, and a few fields some errors add. Both apps document their errors with it.
 */
export class ErrorDto {
  @ApiProperty({
    description: `Stable code: ${ERROR_CODES.join(', ')}`,
    example: 'not_found',
  })
  error!: string;

  @ApiProperty({ example: 'Agent agt_3f9a1c2b4d5e6f70 not found' })
  message!: string;

  @ApiPropertyOptional({
    enum: ['revoked', 'expired', 'invalid'],
    description: 'A refused lease token (lease_revoked, lease_expired, lease_invalid): why',
  })
  status?: string;

  @ApiPropertyOptional({ description: 'lease_revoked: the reason the agent was revoked' })
  reason?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'lease_revoked: when' })
  revokedAt?: string;

  @ApiPropertyOptional({
    example: 'inc_3f9a1c2b4d5e6f70',
    description: 'lease_revoked: the incident that revoked the agent',
  })
  incidentId?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'lease_expired: when' })
  expiredAt?: string;

  @ApiPropertyOptional({
    type: [String],
    description: 'not_found from a bulk stop whose agentIds name no agent: those ids',
  })
  missingIds?: string[];

  @ApiPropertyOptional({
    type: 'integer',
    example: 840,
    description:
      "rate_limited from the relay's POST /v1/pair: seconds until this address may try codes " +
      'again (also sent as Retry-After)',
  })
  retryAfterSeconds?: number;

  @ApiPropertyOptional({
    enum: [false],
    description:
      "A stop the relay's POST /v1/stop refused (the socket ack's ok: false); its `error` is " +
      "the ack's `code`, its `message` the ack's `error`",
  })
  ok?: false;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'internal (500): names the error in the log, to quote when reporting it',
  })
  errorId?: string;
}

/** The statuses the exception filter answers with an {@link ErrorDto} on the apps' routes. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 503;

/**
 * Documents error answers, each with the shared {@link ErrorDto}: on a controller for all its
 * routes, on a route for its own (a route's description of a status replaces its controller's).
 */
export function ApiErrors(
  errors: Partial<Record<ErrorStatus, string>>,
): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...Object.entries(errors).map(([status, description]) =>
      ApiResponse({ status: Number(status), description, type: ErrorDto }),
    ),
  );
}

/** The 503 of any route that reads Redis (both apps). */
export const REDIS_UNAVAILABLE =
  'Redis cannot be reached: the request is refused, never allowed (fails closed)';

/** What a route that takes a JSON body may answer besides. */
export const BODY_ERRORS = {
  413: 'The body is larger than MAX_BODY_BYTES (64 KiB by default)',
  415: 'The body is not sent as application/json (checked once the caller is authenticated)',
} as const;

/** An object schema with exactly these properties, all required. */
export function closedSchema(properties: Record<string, SchemaObject>): SchemaObject {
  return {
    type: 'object',
    properties,
    required: Object.keys(properties),
    additionalProperties: false,
  };
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** Where each app serves its document: Swagger UI here, the JSON at `/docs/openapi.json`. */
const DOCS_PATH = 'docs';

/**
 * Serves the app's OpenAPI document, built from its controllers' decorators, with Swagger UI at
 * `/docs` and the JSON at `/docs/openapi.json`.
 *
 * @param about - the document's `info`, security schemes and tags (a `DocumentBuilder`'s build)
 * @param contentSecurityPolicy - the policy of those two pages, where the app's own would keep
 *   Swagger UI from drawing (the relay's, made for its phone page)
 */
export function serveApiDocs(
  app: NestFastifyApplication,
  about: Omit<OpenAPIObject, 'paths'>,
  contentSecurityPolicy?: string,
): void {
  const document = SwaggerModule.createDocument(app, about, { extraModels: [ErrorDto] });
  // Any route may meet an error nobody foresaw: the filter then answers 500 `internal`, with an
  // errorId and nothing more specific. Said once here rather than on every route.
  for (const route of Object.values(document.paths)) {
    for (const method of HTTP_METHODS) {
      const responses = route[method]?.responses;
      if (responses && !responses['500']) {
        responses['500'] = {
          description: 'An unexpected error: `errorId` names it in the log; nothing more is said',
          content: { 'application/json': { schema: { $ref: getSchemaPath(ErrorDto) } } },
        };
      }
    }
  }
  if (contentSecurityPolicy) {
    const docs = new RegExp(`^/${DOCS_PATH}(/|\\?|$)`);
    app
      .getHttpAdapter()
      .getInstance()
      .addHook('onRequest', (request, reply, done) => {
        if (docs.test(request.url)) {
          void reply.header('content-security-policy', contentSecurityPolicy);
        }
        done();
      });
  }
  SwaggerModule.setup(DOCS_PATH, app, document, {
    jsonDocumentUrl: `${DOCS_PATH}/openapi.json`,
  });
}
