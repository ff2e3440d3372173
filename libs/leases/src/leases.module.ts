import { Global, Module } from '@nestjs/common';
import { LEASE_VERIFIER } from '@app/auth';
import { LeasesRepository } from './leases.repository';
import { LeasesService } from './leases.service';

/** Global so that the auth guard, wherever it runs, can verify lease tokens. */
@Global()
@Module({
  providers: [
    LeasesRepository,
    LeasesService,
    { provide: LEASE_VERIFIER, useExisting: LeasesService },
  ],
  exports: [LeasesService, LEASE_VERIFIER],
})
export class LeasesModule {}
