import { Injectable } from '@nestjs/common';

/** A readiness check another module contributes (for example "queue workers are running"). */
export interface ReadinessCheck {
  name: string;
  /**
   * Resolves with details when ready; throws with a reason when not. Both are shown on the
   * public `/health/ready`: say what is not ready, never where it runs or with what secret.
   */
  check(): Promise<Record<string, unknown> | void>;
}

/**
 * Collects readiness checks from the modules of one app, so that `/health/ready` covers
 * whatever that app runs without the health module knowing about queues or sockets.
 */
@Injectable()
export class HealthRegistry {
  private readonly checks: ReadinessCheck[] = [];

  register(check: ReadinessCheck): void {
    this.checks.push(check);
  }

  all(): readonly ReadinessCheck[] {
    return this.checks;
  }
}
