import { Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { roleAtLeast } from '@app/auth';
import type { UserPrincipal } from '@app/auth';
import { DomainError, ErrorCode } from '@app/core';
import { STOP_LEASE_MS, StopClaim, StopRequests } from '@app/devices';
import { IncidentsRepository, newIncidentId } from '@app/incidents';
import { redisUnavailableReason } from '@app/redis';
import { RevocationAnswer, RevocationService } from '@app/revocation';
import { readStop, type Stop } from './dto/stop.dto';

export type StopAck =
  | {
      ok: true;
      incidentId: string;
      revokedAt: string;
      /** The agents now stopped, those that were already stopped included. */
      agents: number;
      /** How many of them were already stopped: a phone says "stopped 1 (5 already)". */
      alreadyRevoked: number;
    }
  | { ok: false; error: string; code: ErrorCode };

/**
 * A stop from a phone is a revocation through the shared revocation code, in this process:
 * no extra hop. The answer of each stop carried out is kept under the device's requestId
 * (StopRequests), so the same stop sent again after a reconnect (or through the HTTP fallback)
 * answers the same and never revokes twice. Refusals are not kept: they revoked nothing.
 */
@Injectable()
export class StopService {
  private readonly logger = new Logger(StopService.name);

  constructor(
    private readonly revocation: RevocationService,
    private readonly requests: StopRequests,
    private readonly incidents: IncidentsRepository,
  ) {}

  async stop(
    principal: UserPrincipal,
    device: { id: string; name: string },
    body: unknown,
  ): Promise<StopAck> {
    // Judged before anything is claimed: a malformed stop leaves nothing behind, so the phone's
    // corrected resend under the same requestId is carried out.
    const read = readStop(body);
    if ('problem' in read) {
      return fail('bad_request', read.problem);
    }
    const { stop } = read;
    const { requestId } = stop;
    let claim: StopClaim | undefined;
    try {
      claim = await this.claimOrWait(device.id, requestId);
      if (claim.kind === 'answer') {
        return JSON.parse(claim.answer) as StopAck;
      }
      if (claim.kind === 'held') {
        return fail(
          'conflict',
          'This stop is still being carried out; its incident will show the result. If none ' +
            `appears, send it again in ${STOP_LEASE_MS / 1000} seconds.`,
        );
      }
      // An earlier delivery stopped answering mid-way: if its stop landed, its incident says so
      // (the sweeper opens it within seconds of a fence whose process died), and that is the
      // answer. Otherwise it is carried out now, under the same incident id.
      const ack =
        (claim.resumed ? await this.landed(claim.incidentId) : undefined) ??
        (await this.perform(principal, device, stop, claim.incidentId));
      // A refusal revoked nothing: not kept but released, so that a resend under the same
      // requestId (the phone's, once what was refused is fixed) is judged afresh. Released, not
      // deleted: the resend still looks for the claim's incident first, should a refusal ever
      // come after a fence.
      await this.requests.settle(
        device.id,
        requestId,
        claim.token,
        ack.ok ? JSON.stringify(ack) : undefined,
      );
      return ack;
    } catch (error) {
      // Not carried out (or not known to be): release the claim so that a resend of this stop
      // takes it over at once, not told for 24 h that it is "still being carried out".
      if (claim?.kind === 'claimed') {
        await this.requests.settle(device.id, requestId, claim.token).catch(() => undefined);
      }
      const unavailable = redisUnavailableReason(error);
      if (unavailable !== undefined) {
        return fail('unavailable', `${unavailable}. Send the stop again.`);
      }
      throw error;
    }
  }

  /** Claims the stop, waiting up to 5 s while another delivery of it holds it. */
  private async claimOrWait(deviceId: string, requestId: string): Promise<StopClaim> {
    let claim = await this.requests.claim(deviceId, requestId, newIncidentId());
    for (let i = 0; i < 50 && claim.kind === 'held'; i++) {
      await sleep(100);
      claim = await this.requests.claim(deviceId, requestId, newIncidentId());
    }
    return claim;
  }

  /** The answer of a stop whose incident exists: it was carried out. */
  private async landed(incidentId: string): Promise<StopAck | undefined> {
    const incident = await this.incidents.summary(incidentId);
    return incident
      ? {
          ok: true,
          incidentId,
          revokedAt: incident.openedAt,
          agents: incident.agents,
          alreadyRevoked: Math.max(0, incident.agents - incident.counts.fenced),
        }
      : undefined;
  }

  private async perform(
    principal: UserPrincipal,
    device: { id: string; name: string },
    stop: Stop,
    incidentId: string,
  ): Promise<StopAck> {
    if (!roleAtLeast(principal.role, 'owner')) {
      return fail('forbidden', 'Viewers cannot stop agents');
    }
    const reason = stop.reason ?? `stopped from ${device.name}`;
    const origin = { via: 'device', deviceId: device.id, deviceName: device.name };
    try {
      let answer: RevocationAnswer;
      if ('agentId' in stop) {
        answer = await this.revocation.revokeOne(principal, stop.agentId, reason, {
          origin,
          incidentId,
        });
      } else {
        answer = (await this.revocation.revoke(principal, {
          selector: 'mine' in stop ? { owner: principal.userId } : stop.selector,
          reason,
          origin,
          incidentId,
        })) as RevocationAnswer;
      }
      this.logger.log({ deviceId: device.id, incidentId: answer.incidentId }, 'Stop from a device');
      return {
        ok: true,
        incidentId: answer.incidentId,
        revokedAt: answer.revokedAt,
        agents: answer.agents,
        alreadyRevoked: answer.alreadyRevokedIds.length,
      };
    } catch (error) {
      if (error instanceof DomainError) {
        return fail(error.code, error.message);
      }
      throw error;
    }
  }
}

function fail(code: ErrorCode, error: string): StopAck {
  return { ok: false, error, code };
}
