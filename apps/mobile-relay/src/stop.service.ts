import { Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { roleAtLeast } from '@app/auth';
import type { UserPrincipal } from '@app/auth';
import { DomainError, ErrorCode } from '@app/core';
import { isRedisUnavailable, RedisService } from '@app/redis';
import { AGENT_ID } from '@app/agents';
import {
  isSelector,
  RevocationAnswer,
  RevocationService,
  SELECTOR_SHAPES,
  selectorProblem,
} from '@app/revocation';

/** What a phone sends: one agent, every agent the user owns, or (responders) a selector. */
export interface StopRequest {
  agentId?: unknown;
  mine?: unknown;
  selector?: unknown;
  reason?: unknown;
  requestId?: unknown;
}

export type StopAck =
  | { ok: true; incidentId: string; revokedAt: string; agents: number }
  | { ok: false; error: string; code: ErrorCode };

const REMEMBER_SECONDS = 24 * 3600;
const PENDING = 'pending';
// How long a delivery holds a stop it is carrying out: far longer than a stop takes, and short
// enough that a stop whose relay died holding it is carried out by a resend soon after.
const CLAIM_SECONDS = 30;

/**
 * A stop from a phone is a revocation through the shared revocation code, in this process:
 * no extra hop. Each answer is kept under the device's requestId, so the same stop sent again
 * after a reconnect (or through the HTTP fallback) answers the same and never revokes twice.
 */
@Injectable()
export class StopService {
  private readonly logger = new Logger(StopService.name);

  constructor(
    private readonly revocation: RevocationService,
    private readonly redis: RedisService,
  ) {}

  async stop(
    principal: UserPrincipal,
    device: { id: string; name: string },
    request: StopRequest,
  ): Promise<StopAck> {
    const requestId = request.requestId;
    if (typeof requestId !== 'string' || !/^[\w.:-]{1,100}$/.test(requestId)) {
      return fail(
        'bad_request',
        'requestId is required: a unique id per tap (letters, digits, -_.:)',
      );
    }
    const key = this.redis.keys.stopRequest(device.id, requestId);
    let claimed = false;
    try {
      claimed = await this.claim(key);
      if (!claimed) {
        const answer = await this.answerOf(key);
        if (answer) {
          return answer;
        }
        // Neither answered nor held: the delivery that held it died or failed before the stop
        // was known to be carried out. Carry it out here (if another resend is not first).
        claimed = await this.claim(key);
        if (!claimed) {
          return (await this.answerOf(key)) ?? stillRunning();
        }
      }
      const ack = await this.perform(principal, device, request);
      await this.redis.client.set(key, JSON.stringify(ack), 'EX', REMEMBER_SECONDS);
      return ack;
    } catch (error) {
      // Not carried out (or not known to be): release the claim so that a resend of this
      // stop is carried out, not told for 24 h that it is "still being carried out". A resend
      // of a stop that did land is harmless: the agent is already revoked.
      if (claimed) {
        await this.redis.client.del(key).catch(() => undefined);
      }
      if (isRedisUnavailable(error)) {
        return fail('unavailable', 'killswitch cannot reach Redis right now; try again');
      }
      throw error;
    }
  }

  private async perform(
    principal: UserPrincipal,
    device: { id: string; name: string },
    request: StopRequest,
  ): Promise<StopAck> {
    if (!roleAtLeast(principal.role, 'owner')) {
      return fail('forbidden', 'Viewers cannot stop agents');
    }
    const reason =
      typeof request.reason === 'string' && request.reason.trim()
        ? request.reason.trim().slice(0, 500)
        : `stopped from ${device.name}`;
    const origin = { via: 'device', deviceId: device.id, deviceName: device.name };
    try {
      let answer: RevocationAnswer;
      if (typeof request.agentId === 'string') {
        if (!AGENT_ID.test(request.agentId)) {
          return fail('bad_request', 'agentId must be an agent id');
        }
        answer = await this.revocation.revokeOne(
          principal,
          request.agentId,
          reason,
          undefined,
          origin,
        );
      } else if (request.mine === true) {
        answer = (await this.revocation.revoke(principal, {
          selector: { owner: principal.userId },
          reason,
          origin,
        })) as RevocationAnswer;
      } else if (isSelector(request.selector)) {
        answer = (await this.revocation.revoke(principal, {
          selector: request.selector,
          reason,
          origin,
        })) as RevocationAnswer;
      } else if (request.selector !== undefined) {
        return fail('bad_request', selectorProblem(request.selector) ?? 'selector is not valid');
      } else {
        return fail(
          'bad_request',
          `Send {agentId}, {mine: true} or {selector}, where selector is ${SELECTOR_SHAPES}`,
        );
      }
      this.logger.log({ deviceId: device.id, incidentId: answer.incidentId }, 'Stop from a device');
      return {
        ok: true,
        incidentId: answer.incidentId,
        revokedAt: answer.revokedAt,
        agents: answer.agents,
      };
    } catch (error) {
      if (error instanceof DomainError) {
        return fail(error.code, error.message);
      }
      throw error;
    }
  }

  private async claim(key: string): Promise<boolean> {
    return (await this.redis.client.set(key, PENDING, 'EX', CLAIM_SECONDS, 'NX')) === 'OK';
  }

  /**
   * Another delivery of the same stop is (or was) being handled: waits briefly for its answer.
   * Undefined once no delivery holds it and none answered (its claim lapsed or was released).
   */
  private async answerOf(key: string): Promise<StopAck | undefined> {
    for (let i = 0; i < 50; i++) {
      const stored = await this.redis.client.get(key);
      if (stored === null) {
        return undefined;
      }
      if (stored !== PENDING) {
        return JSON.parse(stored) as StopAck;
      }
      await sleep(100);
    }
    return stillRunning();
  }
}

function stillRunning(): StopAck {
  return fail(
    'conflict',
    'This stop is still being carried out; its incident will show the result. If none ' +
      `appears, send it again in ${CLAIM_SECONDS} seconds.`,
  );
}

function fail(code: ErrorCode, error: string): StopAck {
  return { ok: false, error, code };
}
