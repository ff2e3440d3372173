import type { SchemaObject } from '@nestjs/swagger';

/** Each check by name: `status` and what the check adds (a `message` when it is down). */
const checks: SchemaObject = {
  type: 'object',
  additionalProperties: {
    type: 'object',
    properties: {
      status: { type: 'string', enum: ['up', 'down'] },
      message: { type: 'string' },
    },
    required: ['status'],
    additionalProperties: true,
  },
  example: { redis: { status: 'up' } },
};

/**
 * What the probes answer: terminus' report, and for `error` the exception filter's `message`
 * naming what failed (`Not ready: redis`).
 */
export function healthReportSchema(status: 'ok' | 'error'): SchemaObject {
  return {
    type: 'object',
    properties: {
      status: { type: 'string', enum: [status] },
      info: checks,
      error: checks,
      details: checks,
      ...(status === 'error' ? { message: { type: 'string', example: 'Not ready: redis' } } : {}),
    },
    required: ['status', 'info', 'error', 'details', ...(status === 'error' ? ['message'] : [])],
    additionalProperties: false,
  };
}
