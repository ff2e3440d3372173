export { Keys } from './keys';
export { RedisModule } from './redis.module';
export { PingTimeoutError, RedisService } from './redis.service';
export {
  createRedisConnection,
  closeConnection,
  connectOrExplain,
  redactUrl,
  isRedisUnavailable,
  redisUnavailableReason,
  type ConnectionRole,
} from './connection';
export { defineScript, runScript } from './scripts';
export { writeEvenIfFull } from './even-if-full';
export { Confirmations } from './confirmations';
export { execOrThrow } from './pipeline';
export { outageAwareWarning } from './outage-log';
export { addJobs } from './queues';
