export { AppConfig, ConfigError, loadConfig, configWith } from './config';
export { ConfigModule } from './config.module';
