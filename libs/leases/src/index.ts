export { LeasesModule } from './leases.module';
export {
  LeasesService,
  type IssuedLease,
  type Heartbeat,
  type Introspection,
} from './leases.service';
export { parseLeaseToken, newLeaseToken } from './lease-token';
