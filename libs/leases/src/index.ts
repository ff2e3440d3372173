export { LeasesModule } from './leases.module';
export {
  LeasesService,
  type IssuedLease,
  type Heartbeat,
  type Introspection,
  leaseRevoked,
} from './leases.service';
export { parseLeaseToken, newLeaseToken } from './lease-token';
