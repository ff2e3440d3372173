import { Global, Module } from '@nestjs/common';
import { AuthModule, DEVICE_VERIFIER } from '@app/auth';
import { DeviceNotifier } from './device-notifier';
import { DevicesRepository } from './devices.repository';
import { DevicesService } from './devices.service';
import { StopRequests } from './stop-requests';

/**
 * Phones: pairing codes, device credentials, their revocation, the memory of their stops.
 * Global so the auth guard can verify device tokens wherever it runs.
 */
@Global()
@Module({
  imports: [AuthModule],
  providers: [
    DevicesRepository,
    DevicesService,
    DeviceNotifier,
    StopRequests,
    { provide: DEVICE_VERIFIER, useExisting: DevicesService },
  ],
  exports: [DevicesService, StopRequests, DEVICE_VERIFIER],
})
export class DevicesModule {}
