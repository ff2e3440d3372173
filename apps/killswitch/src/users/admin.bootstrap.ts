import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { UsersService } from '@app/auth';

/**
 * On first start there is nobody who could create users: make the first admin, from
 * KILLSWITCH_ADMIN_KEY or with a generated key printed once.
 */
@Injectable()
export class AdminBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger('AdminBootstrap');

  constructor(
    private readonly users: UsersService,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { created, shownKey } = await this.users.bootstrapAdmin(this.config.adminKey);
    if (!created) {
      return;
    }
    if (shownKey) {
      // Printed to the console, not the log pipeline: it is shown once and must not be redacted.
      process.stdout.write(
        [
          '',
          '  killswitch: no admin existed, so one was created. Its API key (shown only now):',
          '',
          `    ${shownKey}`,
          '',
          '  Store it in a password manager; set KILLSWITCH_ADMIN_KEY to choose it yourself.',
          '',
        ].join('\n') + '\n',
      );
    } else {
      this.logger.log('No admin existed; created one with the key from KILLSWITCH_ADMIN_KEY');
    }
  }
}
