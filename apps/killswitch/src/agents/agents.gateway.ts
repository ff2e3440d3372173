import { Logger } from '@nestjs/common';
import { OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { DomainError } from '@app/core';
import { LeasesService } from '@app/leases';
import { AGENTS_NAMESPACE, agentRoom } from '@app/realtime';

/**
 * The push channel agents listen on. A socket joins its agent's room only with a live lease
 * token; `lease.revoked` is sent to that room through Redis from whichever instance revoked.
 */
@WebSocketGateway({ namespace: AGENTS_NAMESPACE })
export class AgentsGateway implements OnGatewayInit {
  private readonly logger = new Logger(AgentsGateway.name);

  constructor(private readonly leases: LeasesService) {}

  afterInit(namespace: Namespace): void {
    namespace.use((socket: Socket, next) => {
      const auth = socket.handshake.auth as { token?: unknown } | undefined;
      const token = typeof auth?.token === 'string' ? auth.token : '';
      this.leases.verify(token).then(
        async (principal) => {
          await socket.join(agentRoom(principal.agentId));
          next();
        },
        (error: unknown) => {
          const status = error instanceof DomainError ? error.details.status : undefined;
          const reason = typeof status === 'string' ? status : 'unavailable';
          if (!(error instanceof DomainError)) {
            this.logger.warn({ err: error }, 'Agent socket refused: lease state unreadable');
          }
          next(Object.assign(new Error(`lease ${reason}`), { data: { status: reason } }));
        },
      );
    });
  }
}
