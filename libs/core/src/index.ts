export * from './errors';
export {
  ERROR_CODES,
  HttpExceptionFilter,
  toErrorResponse,
  type ErrorBody,
} from './http-exception.filter';
export { loggingModule, redactedPaths } from './logging';
export { createHttpApp, type HttpAppOptions } from './http-app';
export { API_SECURITY_HEADERS } from './security-headers';
export { drain } from './http-drain';
export { AcceptsForm, refuseUnsupportedBody } from './json-body';
export { listenOrExplain, runMain } from './run-main';
export { settleWithin } from './deadline';
export { runEvery } from './periodic';
export {
  CONTROL_CHARACTERS,
  Optional,
  Text,
  validateInput,
  VALIDATION_RULES,
  type TextOptions,
} from './validation';
export {
  ApiErrors,
  BODY_ERRORS,
  closedSchema,
  ErrorDto,
  REDIS_UNAVAILABLE,
  serveApiDocs,
  type ErrorStatus,
} from './api-docs';
