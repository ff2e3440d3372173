import { Injectable, Logger } from '@nestjs/common';
import type { Emitter } from '@socket.io/redis-emitter';
import { createEmitter } from '@app/realtime';
import { RedisService } from '@app/redis';

export const DEVICES_NAMESPACE = '/devices';
export const deviceRoom = (deviceId: string) => `device:${deviceId}`;

/** Reaches device sockets on every relay instance through Redis, from either app. */
@Injectable()
export class DeviceNotifier {
  private readonly emitter: Emitter;

  constructor(redis: RedisService) {
    this.emitter = createEmitter(redis, new Logger(DeviceNotifier.name));
  }

  disconnect(deviceId: string): void {
    this.emitter.of(DEVICES_NAMESPACE).in(deviceRoom(deviceId)).disconnectSockets(true);
  }
}
