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
 * A socket.io emitter over the deployment's Redis, usable from any app. The emitter publishes
 * without awaiting; its publisher reports a failed publish instead of leaving an unhandled
 * rejection behind.
 */
export function createEmitter(redis: RedisService, logger: Logger): Emitter {
  const publisher = {
    publish: (channel: string, message: string | Buffer) =>
      redis.client.publish(channel, message).catch((error: unknown) => {
        logger.warn({ err: error, channel }, 'socket.io broadcast could not be published');
        return 0;
      }),
  };
  return new Emitter(publisher, { key: redis.keys.socketIoPrefix() });
}

/**
 * Tells agents what happened to their lease, through Redis, so that it reaches their sockets
 * on every killswitch instance; usable from any app (the relay has no `/agents` namespace).
 */
@Injectable()
export class AgentNotifier {
  private readonly logger = new Logger(AgentNotifier.name);
  private readonly emitter: Emitter;

  constructor(redis: RedisService) {
    this.emitter = createEmitter(redis, this.logger);
  }

  /**
   * Then closes the agent's sockets: every lease they were opened with is dead, and a socket
   * left open would go on hearing of the agent under a token that no longer admits it. Both go
   * through the same Redis channel, in order, so each socket gets the event before it is closed
   * (a server-side close, which socket.io clients do not reconnect after).
   *
   * Best effort, and never throws: the fence holds whether or not the agent hears of it, and a
   * caller (a stop answering, a follow-up step) must not fail because a push did.
   */
  leaseRevoked(event: LeaseRevokedEvent): void {
    try {
      const sockets = this.emitter.of(AGENTS_NAMESPACE).to(agentRoom(event.agentId));
      sockets.emit('lease.revoked', event);
      sockets.disconnectSockets();
    } catch (error) {
      this.logger.warn({ agentId: event.agentId, err: error }, 'Could not push lease.revoked');
    }
  }
}
