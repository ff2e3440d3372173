import { Logger } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { AuthenticatedDevice, DEVICES_NAMESPACE, deviceRoom, DevicesService } from '@app/devices';
import { canSeeAll } from '@app/agents';
import { redisUnavailableReason } from '@app/redis';
import { ALL_AGENTS_ROOM, FeedService, userRoom } from './feed.service';
import { RedisWatch } from './redis-watch';
import { RelayEvents } from './relay-events';
import { StopAck, StopService } from './stop.service';

interface DeviceSocketData {
  token: string;
  auth: AuthenticatedDevice;
  /** Settles once the connection's snapshot is sent (see `stop`). */
  snapshotSent?: Promise<void>;
}

/**
 * Phones connect here with their device token. They get a snapshot, then live events, and
 * send `stop`, answered through the socket.io acknowledgement.
 */
@WebSocketGateway({ namespace: DEVICES_NAMESPACE })
export class DevicesGateway implements OnGatewayInit, OnGatewayConnection {
  private readonly logger = new Logger(DevicesGateway.name);

  constructor(
    private readonly devices: DevicesService,
    private readonly feed: FeedService,
    private readonly stops: StopService,
    private readonly events: RelayEvents,
    private readonly watch: RedisWatch,
  ) {}

  afterInit(namespace: Namespace): void {
    this.events.attach(namespace);
    this.watch.onChange((up) => this.redisChanged(namespace, up));
    namespace.use((socket: Socket, next) => {
      const auth = socket.handshake.auth as { token?: unknown } | undefined;
      const token = typeof auth?.token === 'string' ? auth.token : '';
      this.devices.authenticate(token).then(
        (device) => {
          if (!device) {
            next(Object.assign(new Error('device invalid'), { data: { status: 'invalid' } }));
            return;
          }
          (socket.data as DeviceSocketData) = { token, auth: device };
          next();
        },
        (error: unknown) => {
          this.logger.warn({ err: error }, 'Device socket refused: state unreadable');
          next(Object.assign(new Error('unavailable'), { data: { status: 'unavailable' } }));
        },
      );
    });
  }

  async handleConnection(socket: Socket): Promise<void> {
    // An event the relay does not take would leave a client waiting on its ack for ever.
    socket.onAny((event: unknown, ...args: unknown[]) => {
      const ack = args[args.length - 1];
      if (event !== 'stop' && typeof ack === 'function') {
        (ack as (answer: StopAck) => void)({
          ok: false,
          error: `The relay takes no "${String(event).slice(0, 40)}" event: phones send stop`,
          code: 'bad_request',
        });
      }
    });
    const data = socket.data as DeviceSocketData;
    data.snapshotSent = this.sendSnapshot(socket, data.auth);
    await data.snapshotSent;
  }

  /**
   * Tells this relay's phones that it lost, or found again, Redis: only its own phones (another
   * relay may still reach Redis, and the adapter that carries events between relays runs on
   * it). Back, each phone gets a fresh snapshot: the events of the outage never came.
   */
  private redisChanged(namespace: Namespace, up: boolean): void {
    if (up) {
      this.logger.log('Redis answers again: phones told, and sent a fresh snapshot');
    } else {
      this.logger.warn('Redis does not answer: phones told');
    }
    namespace.local.emit('relay.status', {
      redis: up ? 'up' : 'down',
      at: new Date().toISOString(),
    });
    if (up) {
      for (const socket of namespace.sockets.values()) {
        const data = socket.data as DeviceSocketData;
        data.snapshotSent = this.sendSnapshot(socket, data.auth);
      }
    }
  }

  private async sendSnapshot(socket: Socket, auth: AuthenticatedDevice): Promise<void> {
    const rooms = [deviceRoom(auth.device.id), userRoom(auth.principal.userId)];
    if (canSeeAll(auth.principal)) {
      rooms.push(ALL_AGENTS_ROOM);
    }
    await socket.join(rooms);
    try {
      socket.emit('snapshot', await this.feed.snapshot(auth.principal, auth.user, auth.device));
    } catch (error) {
      this.logger.warn({ err: error }, 'Could not send a snapshot');
    }
  }

  @SubscribeMessage('stop')
  async stop(@ConnectedSocket() socket: Socket, @MessageBody() body: unknown): Promise<StopAck> {
    const { token, snapshotSent } = socket.data as DeviceSocketData;
    // A phone sends its pending stops as soon as it reconnects. The snapshot, read before such a
    // stop lands, must reach it first: arriving after the ack it would show the agent active.
    await snapshotSent;
    // Checked again at every stop: a device revoked since it connected may not act. A state
    // that cannot be read is not a revocation: the phone keeps its pairing and sends again.
    let auth: AuthenticatedDevice | undefined;
    try {
      auth = await this.devices.authenticate(token);
    } catch (error) {
      this.logger.warn({ err: error }, 'Stop not carried out: device state unreadable');
      return {
        ok: false,
        // Worded as the stop's own refusal when Redis cannot serve (stop.service.ts).
        error: `${redisUnavailableReason(error) ?? 'killswitch cannot read its state right now'}. Send the stop again.`,
        code: 'unavailable',
      };
    }
    if (!auth) {
      socket.disconnect(true);
      return {
        ok: false,
        error: 'This device was revoked; pair it again',
        code: 'unauthenticated',
      };
    }
    return this.stops.stop(auth.principal, auth.device, body);
  }
}
