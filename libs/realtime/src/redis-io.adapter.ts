import type { INestApplicationContext } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { drain } from '@app/core';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Server as HttpServer } from 'node:http';
import type { Server, ServerOptions } from 'socket.io';
import { SocketIoRedis } from './socket-io-redis';

/** socket.io over the Redis adapter, keyed by the deployment's prefix. */
export class RedisIoAdapter extends IoAdapter {
  private readonly redis: SocketIoRedis;
  private readonly maxMessageBytes: number;

  constructor(app: INestApplicationContext) {
    super(app);
    this.redis = app.get(SocketIoRedis);
    this.maxMessageBytes = app.get(AppConfig).maxBodyBytes;
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const server = super.createIOServer(port, {
      ...options,
      // Agents and phones on flaky networks: notice a dead peer within ~30 s.
      pingInterval: 10_000,
      pingTimeout: 20_000,
      // What an HTTP body may be (MAX_BODY_BYTES), not socket.io's 1 MB: a phone's stop is the
      // same request on either transport. A larger message closes the socket.
      maxHttpBufferSize: this.maxMessageBytes,
    }) as Server;
    server.adapter(createAdapter(this.redis.pub, this.redis.sub, { key: this.redis.key }));
    return server;
  }

  /**
   * socket.io's close, the first step of the app's, also closes the HTTP server it shares with
   * the app and waits for that server's last connection to end. A keep-alive client sending
   * request after request never let it: Fastify's close and the shutdown hooks (the workers'
   * hand-over) never ran, and SHUTDOWN_TIMEOUT_MS ended the process as a crash would. Drained
   * first, each such client is answered once more, with `Connection: close`.
   */
  override async close(server: Server): Promise<void> {
    if (this.httpServer) {
      drain(this.httpServer as HttpServer);
    }
    await super.close(server);
  }
}
