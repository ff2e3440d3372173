import { Global, Module } from '@nestjs/common';
import { AuthModule, DEVICE_VERIFIER } from '@app/auth';
import { DeviceNotifier } from './device-notifier';
import { DevicesRepository } from './devices.repository';
import { DevicesService } from './devices.service';

/** Phones: pairing codes, device credentials, their revocation. Global so the auth guard
 * can verify device tokens wherever it runs. */
@Global()
@Module({
  imports: [AuthModule],
  providers: [
    DevicesRepository,
    DevicesService,
    DeviceNotifier,
    { provide: DEVICE_VERIFIER, useExisting: DevicesService },
  ],
  exports: [DevicesService, DEVICE_VERIFIER],
})
export class DevicesModule {}
