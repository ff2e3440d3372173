import { Injectable, Logger } from '@nestjs/common';
import { Emitter } from '@socket.io/redis-emitter';
import { RedisService } from '@app/redis';

/** The namespace agent runtimes connect to, and the room each agent's sockets join. */
export const AGENTS_NAMESPACE = '/agents';
export const agentRoom = (agentId: string) => `agent:${agentId}`;

export interface LeaseRevokedEvent {
  agentId: string;
  reason: string;
  revokedAt: string;
  incidentId?: string;
}

/**
 * Tells agents what happened to their lease, through Redis, so that it reaches their sockets
 * on every killswitch instance; usable from any app (the relay has no `/agents` namespace).
 */
@Injectable()
export class AgentNotifier {
  private readonly emitter: Emitter;

  private readonly logger = new Logger(AgentNotifier.name);

  constructor(redis: RedisService) {
    // The emitter publishes without awaiting; route it through a publisher that reports a
    // failed publish instead of leaving an unhandled rejection behind.
    const publisher = {
      publish: (channel: string, message: string | Buffer) =>
        redis.client.publish(channel, message).catch((error: unknown) => {
          this.logger.warn({ err: error, channel }, 'socket.io broadcast could not be published');
          return 0;
        }),
    };
    this.emitter = new Emitter(publisher, { key: redis.keys.socketIoPrefix() });
  }

  leaseRevoked(event: LeaseRevokedEvent): void {
    this.emitter.of(AGENTS_NAMESPACE).to(agentRoom(event.agentId)).emit('lease.revoked', event);
  }
}
