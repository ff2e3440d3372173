export { RevocationModule } from './revocation.module';
export { RevocationService, type RevokeResult, type ReinstateResult } from './revocation.service';
