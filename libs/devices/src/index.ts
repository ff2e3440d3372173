export { DevicesModule } from './devices.module';
export {
  DevicesService,
  normalizeCode,
  type AuthenticatedDevice,
  type PairingCode,
} from './devices.service';
export { DEVICES_NAMESPACE, deviceRoom } from './device-notifier';
export type { DeviceRecord } from './devices.repository';
export { STOP_LEASE_MS, StopRequests, type StopClaim } from './stop-requests';
