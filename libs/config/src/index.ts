export { AppConfig, ConfigError, loadConfig, configWith } from './config';
export { ConfigModule } from './config.module';
export { DEFAULT_REDIS_COMMAND_TIMEOUT_MS, MAX_AGENT_CONCURRENCY } from './config.schema';
