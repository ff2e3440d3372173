export * from './roles';
export * from './principal';
export * from './secrets';
export * from './access.decorators';
export { LEASE_VERIFIER, type LeaseVerifier } from './lease-verifier';
export { AuthModule } from './auth.module';
export { AuthGuard } from './auth.guard';
export { UsersService, type CreatedUser } from './users.service';
export { UsersRepository } from './users.repository';
