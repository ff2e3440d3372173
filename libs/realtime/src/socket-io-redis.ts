import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { closeConnection, connectOrExplain, RedisService } from '@app/redis';
import { AppConfig } from '@app/config';

/**
 * Owns the publish/subscribe pair of the socket.io Redis adapter, so that events raised on one
 * instance reach sockets connected to any other. Closed at shutdown, after the socket server.
 */
@Injectable()
export class SocketIoRedis implements OnApplicationShutdown {
  readonly pub: Redis;
  readonly sub: Redis;
  /** Channel prefix: the deployment's KEY_PREFIX, so deployments never share rooms. */
  readonly key: string;

  constructor(
    redis: RedisService,
    private readonly config: AppConfig,
  ) {
    this.pub = redis.duplicate('subscriber', 'socket.io-pub');
    this.sub = redis.duplicate('subscriber', 'socket.io-sub');
    this.key = redis.keys.socketIoPrefix();
  }

  async connect(): Promise<void> {
    await connectOrExplain(this.pub, this.config.redisUrl);
    await connectOrExplain(this.sub, this.config.redisUrl);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([closeConnection(this.pub), closeConnection(this.sub)]);
  }
}
