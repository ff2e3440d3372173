import 'reflect-metadata';
import { UsersRepository, UsersService, USER_ID } from '@app/auth';
import { loadConfig } from '@app/config';
import { RedisService } from '@app/redis';

/**
 * `npm run admin-key [-- usr_…]`: issues a new API key for an admin (the first one, unless an
 * id is given). The way back in when the key printed at first start is lost: nobody could
 * create users otherwise, and KILLSWITCH_ADMIN_KEY only counts while no admin exists. It needs
 * what the service needs (REDIS_URL, KEY_PREFIX), which is the access that already rules it.
 * The admin's other keys keep working.
 */
async function main(): Promise<void> {
  const wanted = process.argv[2];
  if (wanted !== undefined && !USER_ID.test(wanted)) {
    throw new Error(`"${wanted}" is not a user id (usr_ and 16 hex digits)`);
  }
  const redis = new RedisService(loadConfig(process.env));
  await redis.connect();
  try {
    const users = new UsersService(new UsersRepository(redis));
    const admins = (await users.list())
      .filter((user) => user.role === 'admin')
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    const admin = wanted === undefined ? admins[0] : admins.find((user) => user.id === wanted);
    if (!admin) {
      throw new Error(
        wanted === undefined
          ? 'no admin exists under this KEY_PREFIX: start killswitch once, and it creates one'
          : `${wanted} is not an admin (admins: ${admins.map((a) => a.id).join(', ') || 'none'})`,
      );
    }
    const { apiKey } = await users.issueKey(admin.id);
    process.stdout.write(
      [
        '',
        `  A new API key for admin ${admin.name} (${admin.id}), shown only now:`,
        '',
        `    ${apiKey}`,
        '',
        '  Their other keys still work.',
        '',
      ].join('\n') + '\n',
    );
  } finally {
    await redis.onApplicationShutdown();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`admin-key: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
