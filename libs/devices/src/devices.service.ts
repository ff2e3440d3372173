import { Injectable, Logger } from '@nestjs/common';
import { randomBytes, randomInt } from 'node:crypto';
import { AppConfig } from '@app/config';
import { DomainError, notFound } from '@app/core';
import { generateSecret, hashSecret, looksLike, UsersService } from '@app/auth';
import type { User, UserPrincipal } from '@app/auth';
import { DeviceNotifier } from './device-notifier';
import { DeviceRecord, DevicesRepository } from './devices.repository';

/** Crockford-style alphabet without look-alikes (0/O, 1/I/L, U): easy to read off a screen. */
const ALPHABET = 'ABCDEFGHJKMNPQRSTVWXYZ23456789';
const CODE_LENGTH = 10; // 30^10 ≈ 2^49: with single use, 5 minutes and attempt limits, unguessable
const FAILURE_WINDOW_SECONDS = 15 * 60;
const MAX_FAILURES = 10;
/**
 * Live pairing codes per user; a new one past it retires the oldest. Retired rather than
 * refused: whoever asks again has usually lost or abandoned the earlier code and expects the
 * newest to work, and a refusal would lock them out for up to the codes' lifetime.
 */
export const MAX_LIVE_PAIRING_CODES = 5;

export interface PairingCode {
  code: string;
  expiresAt: string;
  pairingUrl: string;
}

export interface AuthenticatedDevice {
  principal: UserPrincipal;
  device: { id: string; name: string };
  user: User;
}

export const normalizeCode = (raw: string) => raw.toUpperCase().replace(/[\s-]/g, '');

@Injectable()
export class DevicesService {
  private readonly logger = new Logger(DevicesService.name);

  constructor(
    private readonly devices: DevicesRepository,
    private readonly users: UsersService,
    private readonly config: AppConfig,
    private readonly notifier: DeviceNotifier,
  ) {}

  /**
   * A short-lived, single-use code a signed-in user types (or scans) on a phone; the user's
   * oldest live code is retired past {@link MAX_LIVE_PAIRING_CODES}.
   */
  async createCode(principal: UserPrincipal): Promise<PairingCode> {
    for (;;) {
      const code = Array.from(
        { length: CODE_LENGTH },
        () => ALPHABET[randomInt(ALPHABET.length)],
      ).join('');
      const stored = await this.devices.putCode(
        hashSecret(code),
        principal.userId,
        this.config.pairingCodeTtlSeconds,
        MAX_LIVE_PAIRING_CODES,
      );
      if (stored) {
        return {
          code,
          expiresAt: new Date(Date.now() + this.config.pairingCodeTtlSeconds * 1000).toISOString(),
          // The code rides in the fragment: browsers never send it to a server or a log.
          pairingUrl: `${this.config.relayPublicUrl}/#pair=${code}`,
        };
      }
    }
  }

  /** Trades a pairing code for a device token bound to the code's user. */
  async pair(
    rawCode: string,
    deviceName: string,
    address: string,
  ): Promise<{ deviceToken: string; deviceId: string; user: Pick<User, 'id' | 'name' | 'role'> }> {
    const deviceToken = generateSecret('ksd');
    const deviceId = `dev_${randomBytes(8).toString('hex')}`;
    const outcome = await this.devices.pair(
      // Stored as its hash, as API keys and tokens are: whoever reads Redis (a replica, MONITOR,
      // a backup) cannot pair a phone with a code seen there.
      hashSecret(normalizeCode(rawCode)),
      { id: deviceId, name: deviceName, createdAt: new Date().toISOString() },
      hashSecret(deviceToken),
      address,
      { failures: MAX_FAILURES, windowSeconds: FAILURE_WINDOW_SECONDS },
    );
    if (outcome.kind === 'limited') {
      const minutes = Math.max(1, Math.ceil(outcome.resetsInSeconds / 60));
      throw new DomainError(
        'rate_limited',
        `Too many wrong pairing codes from this address; try again in ${minutes} ` +
          `minute${minutes === 1 ? '' : 's'}, with a new code`,
        { retryAfterSeconds: outcome.resetsInSeconds },
      );
    }
    if (outcome.kind === 'wrong') {
      throw new DomainError(
        'unauthenticated',
        'That pairing code is wrong, used or expired; get a new one with `POST /v1/devices/pairing-codes`',
      );
    }
    const { userId } = outcome;
    const user = await this.users.get(userId);
    this.logger.log({ userId, deviceId }, 'Device paired');
    return { deviceToken, deviceId, user: { id: user.id, name: user.name, role: user.role } };
  }

  /** Resolves a device token to its user (with the user's current role) and device. */
  async authenticate(token: string): Promise<AuthenticatedDevice | undefined> {
    if (!looksLike('ksd', token)) {
      return undefined;
    }
    // A device or user that is gone is an invalid token; a Redis error propagates.
    const found = await this.devices.authenticate(hashSecret(token));
    if (!found) {
      return undefined;
    }
    const { device, user } = found;
    return {
      principal: { kind: 'user', userId: user.id, name: user.name, role: user.role, via: 'device' },
      device: { id: device.id, name: device.name },
      user,
    };
  }

  async list(principal: UserPrincipal): Promise<{ items: DeviceRecord[] }> {
    return { items: await this.devices.list(principal.userId) };
  }

  /** Any user's devices (for admins). */
  async listOf(userId: string): Promise<{ items: DeviceRecord[] }> {
    await this.users.get(userId);
    return { items: await this.devices.list(userId) };
  }

  /**
   * Revokes every device of a user and disconnects them at once, on every relay: with the
   * user's API keys revoked too, the user can no longer read or stop anything (for admins).
   */
  async revokeAllOf(userId: string): Promise<{ userId: string; revokedDevices: string[] }> {
    await this.users.get(userId);
    const revokedDevices = await this.devices.revokeAll(userId);
    revokedDevices.forEach((deviceId) => this.notifier.disconnect(deviceId));
    this.logger.log({ userId, devices: revokedDevices.length }, `Devices of ${userId} revoked`);
    return { userId, revokedDevices };
  }

  /** Revokes one of the caller's devices and disconnects it at once, on every relay. */
  async revoke(principal: UserPrincipal, deviceId: string): Promise<{ id: string; revoked: true }> {
    if (!(await this.devices.revoke(principal.userId, deviceId))) {
      throw notFound(`Device ${deviceId}`);
    }
    this.notifier.disconnect(deviceId);
    this.logger.log({ userId: principal.userId, deviceId }, 'Device revoked');
    return { id: deviceId, revoked: true };
  }
}
