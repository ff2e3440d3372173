/**
 * Agent SDK of the killswitch service: holds a revocable lease for an
 * autonomous agent and exposes it as an `AbortSignal` that fails closed.
 *
 * @packageDocumentation
 */
export { KillSwitch } from './killswitch';
export {
  InvalidLeaseError,
  KillSwitchError,
  KillSwitchRevokedError,
  KillSwitchUnreachableError,
  LeaseExpiredError,
  SessionClosedError,
  toKillSwitchError,
} from './errors';
export type {
  FetchLike,
  FetchResponseLike,
  HeartbeatRequestInit,
  KillSwitchAbortReason,
  KillSwitchCause,
  KillSwitchConnectOptions,
  KillSwitchLogger,
  KillSwitchSession,
  RevocationListener,
} from './types';
