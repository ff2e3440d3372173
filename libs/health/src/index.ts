export { HealthModule } from './health.module';
export { HealthRegistry, type ReadinessCheck } from './health.registry';
