import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { defineScript, RedisService, runScript } from '@app/redis';

const script = (name: string) => join(__dirname, 'lua', `${name}.lua`);

// Answers are kept this long: a phone's queued stop may be resent after a day offline at most.
const REMEMBER_SECONDS = 24 * 3600;
/**
 * How long a delivery holds a stop it is carrying out: far longer than a stop takes (and than
 * the sweeper takes to open the incident of a stop whose process died after its fence), short
 * enough that a stop whose relay died holding it is carried out by a resend soon after.
 */
export const STOP_LEASE_MS = 30_000;

/** Where a device's stop stands for one of its deliveries. */
export type StopClaim =
  /** Answered already: the answer, as stored. */
  | { kind: 'answer'; answer: string }
  /** Another delivery is carrying it out. */
  | { kind: 'held' }
  /**
   * This delivery carries it out, under `incidentId`. `resumed`: an earlier delivery held it
   * and stopped answering (its relay died, or failed): it may have carried the stop out.
   */
  | { kind: 'claimed'; token: string; incidentId: string; resumed: boolean };

/**
 * The memory of each device's stops by requestId, so that a stop sent again (after a reconnect,
 * or through the HTTP fallback) answers the same and never stops twice, even when the relay
 * that first took it died mid-way.
 */
@Injectable()
export class StopRequests {
  constructor(private readonly redis: RedisService) {
    defineScript(redis.client, 'ksClaimStopRequest', script('claim-stop-request'));
    defineScript(redis.client, 'ksSettleStopRequest', script('settle-stop-request'));
  }

  /** Claims the stop for this delivery; `incidentId` is used if no delivery claimed it yet. */
  async claim(deviceId: string, requestId: string, incidentId: string): Promise<StopClaim> {
    const token = randomUUID();
    const [kind, value] = await runScript<[string, string?]>(
      this.redis.client,
      'ksClaimStopRequest',
      [this.redis.keys.stopRequest(deviceId, requestId)],
      [token, incidentId, STOP_LEASE_MS, REMEMBER_SECONDS],
    );
    switch (kind) {
      case 'answer':
        return { kind: 'answer', answer: value ?? '' };
      case 'held':
        return { kind: 'held' };
      default:
        return {
          kind: 'claimed',
          token,
          incidentId: value ?? incidentId,
          resumed: kind === 'taken',
        };
    }
  }

  /**
   * Keeps `answer` for the stop, or with none releases it (not carried out, or not known to
   * be: a resend takes it over at once); only while this delivery still holds it.
   */
  async settle(
    deviceId: string,
    requestId: string,
    token: string,
    answer?: string,
  ): Promise<boolean> {
    const settled = await runScript<number>(
      this.redis.client,
      'ksSettleStopRequest',
      [this.redis.keys.stopRequest(deviceId, requestId)],
      [token, answer ?? '', REMEMBER_SECONDS],
    );
    return settled === 1;
  }
}
