import { Controller, Get, Logger } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '@app/config';
import { Public } from '@app/auth';
import { PingTimeoutError, RedisService } from '@app/redis';
import { HealthRegistry, ReadinessCheck } from './health.registry';
import { healthReportSchema } from './health.schema';

@ApiTags('health')
@Controller('health')
export class HealthController {
  private readonly logger = new Logger(HealthController.name);
  /** The last Redis error logged: an outage is one line, not one per probe. */
  private redisError?: string;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly redis: RedisService,
    private readonly registry: HealthRegistry,
    private readonly config: AppConfig,
  ) {}

  @Get('live')
  @Public()
  // Documented here: terminus' own documentation would say it may answer 503, which it never does.
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({ summary: 'The process is up (no dependencies checked)' })
  @ApiOkResponse({ description: 'Up', schema: healthReportSchema('ok') })
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @Public()
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({
    summary:
      "Redis answers and this process's workers, if it runs any, are running; 503 naming what failed",
  })
  @ApiOkResponse({ description: 'Ready', schema: healthReportSchema('ok') })
  @ApiServiceUnavailableResponse({
    description: 'Not ready: `error` names what failed, and so does `message`',
    schema: healthReportSchema('error'),
  })
  ready() {
    return this.health.check([
      () => this.redisCheck(),
      ...this.registry.all().map((c) => () => this.namedCheck(c)),
    ]);
  }

  // Pings the app's own client rather than opening a throw-away connection per probe.
  private async redisCheck() {
    const indicator = this.indicator.check('redis');
    try {
      await this.redis.ping(this.config.healthRedisTimeoutMs);
      this.redisError = undefined;
      return indicator.up();
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      if (text !== this.redisError) {
        this.redisError = text;
        this.logger.warn({ err: error }, 'Readiness: Redis PING failed');
      }
      // The probe is public, and the client's errors can name the Redis host and port
      // (`connect ECONNREFUSED 10.0.0.5:6379`): they go to the log, the probe says only what failed.
      return indicator.down({
        message:
          error instanceof PingTimeoutError
            ? error.message
            : "PING failed; the app's log has the error",
      });
    }
  }

  private async namedCheck(readiness: ReadinessCheck) {
    const indicator = this.indicator.check(readiness.name);
    try {
      return indicator.up((await readiness.check()) ?? {});
    } catch (error) {
      return indicator.down({ message: error instanceof Error ? error.message : String(error) });
    }
  }
}
