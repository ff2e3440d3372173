export { RealtimeModule } from './realtime.module';
export { RedisIoAdapter } from './redis-io.adapter';
export { SocketIoRedis } from './socket-io-redis';
export {
  AgentNotifier,
  createEmitter,
  AGENTS_NAMESPACE,
  agentRoom,
  type LeaseRevokedEvent,
} from './agent-notifier';
