export * from './roles';
export * from './principal';
export * from './secrets';
export * from './access.decorators';
export {
  LEASE_VERIFIER,
  DEVICE_VERIFIER,
  type LeaseVerifier,
  type DeviceVerifier,
} from './lease-verifier';
export { AuthModule } from './auth.module';
export { AuthGuard } from './auth.guard';
export { UsersService, USER_ID, type CreatedUser } from './users.service';
export { toUser, UsersRepository } from './users.repository';
