import { HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { ConnectionError, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { badRequest } from './errors';
import { toErrorResponse } from './http-exception.filter';
import { API_SECURITY_HEADERS } from './security-headers';

/**
 * Longest path parameter the router takes (Fastify's default, said here so that the answer can
 * name it): ids are about 20 characters and action types at most 100.
 */
export const MAX_PARAM_LENGTH = 100;

const logger = new Logger('HttpApp');

/**
 * Fastify's `frameworkErrors`: the router refuses a URL that does not decode, or a parameter
 * longer than {@link MAX_PARAM_LENGTH}, before Nest (and so its filter) sees the request. Answered
 * here in the same `{error, message}` shape, as 400 like any malformed id, without echoing the
 * path back.
 */
export function answerFrameworkError(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  const { status, body } = toErrorResponse(routingError(error), logger);
  void reply.status(status).header('content-type', 'application/json').send(body);
}

function routingError(error: FastifyError): unknown {
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      return badRequest('The URL is malformed: a percent-encoded part of its path does not decode');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return badRequest(
        `An id in the path is over ${MAX_PARAM_LENGTH} characters long, which none may be`,
      );
    default:
      // FST_ERR_ASYNC_CONSTRAINT, unused here: a 500 with a logged error id, like any surprise.
      return error;
  }
}

/**
 * Fastify's `clientErrorHandler`: Node refuses a request it cannot parse as HTTP (headers over
 * `maxHeaderSize`, a body longer than its content-length read as a next request) before any
 * handler runs, and Fastify's default answers name Fastify internals. Same status codes as
 * Node's own, in the `{error, message}` shape; then the connection is closed, as Node does.
 */
export function answerClientError(error: ConnectionError, socket: Socket): void {
  // https://nodejs.org/api/http.html#event-clienterror: a reset socket has no one to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) {
    return;
  }
  if (socket.writable) {
    const { status, body } = toErrorResponse(connectionError(error), logger);
    const json = JSON.stringify(body);
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
        // Written on the socket, past the server's response class and its headers; the API's
        // set is the relay's but for the page's sources, and this answer is no page.
        Object.entries(API_SECURITY_HEADERS)
          .map(([name, value]) => `${name}: ${value}\r\n`)
          .join('') +
        `Content-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
    );
  }
  socket.destroy(error);
}

function connectionError(error: ConnectionError): unknown {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new HttpException(
        `The request's headers are larger than ${maxHeaderSize / 1024} KiB`,
        431, // Not in Nest's HttpStatus.
      );
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new HttpException(
        "The request body's chunk extensions are too large",
        HttpStatus.PAYLOAD_TOO_LARGE,
      );
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new HttpException('The request took too long to arrive', HttpStatus.REQUEST_TIMEOUT);
    default:
      return badRequest(
        'The request is not valid HTTP: a malformed request line or header, or a body longer ' +
          'than its content-length',
      );
  }
}
