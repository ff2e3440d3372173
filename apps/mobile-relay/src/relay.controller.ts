import { Body, Controller, HttpCode, Ip, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsString, Length, Matches } from 'class-validator';
import { CurrentPrincipal, DeviceAuth, Public } from '@app/auth';
import type { RequestWithPrincipal, UserPrincipal } from '@app/auth';
import { DomainError } from '@app/core';
import { DevicesService } from '@app/devices';
import { StopService } from './stop.service';

export class PairDto {
  @ApiProperty({
    example: 'ABCD-EFGH-JK',
    description: 'The code from POST /v1/devices/pairing-codes',
  })
  @IsString()
  @Length(1, 40)
  code!: string;

  @ApiProperty({ example: "Dana's phone" })
  @IsString()
  @Length(1, 80)
  @Matches(/\S/, { message: 'deviceName must not be blank' })
  deviceName!: string;
}

@ApiTags('relay')
@Controller('v1')
export class RelayController {
  constructor(
    private readonly devices: DevicesService,
    private readonly stops: StopService,
  ) {}

  @Post('pair')
  @Public()
  @ApiOperation({ summary: 'Trade a pairing code for a device token (shown once)' })
  pair(@Body() body: PairDto, @Ip() address: string) {
    return this.devices.pair(body.code, body.deviceName.trim(), address);
  }

  // For networks that block websockets: the same stop, the same requestId deduplication.
  @Post('stop')
  @DeviceAuth()
  @HttpCode(200)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Stop agents from a paired device (Authorization: Bearer ksd_…)' })
  async stop(
    @CurrentPrincipal() principal: UserPrincipal,
    @Req() request: RequestWithPrincipal,
    @Body() body: Record<string, unknown> | undefined,
  ) {
    const device = request.device ?? { id: 'unknown', name: 'unknown' };
    const ack = await this.stops.stop(principal, device, (body ?? {}));
    if (!ack.ok) {
      throw new DomainError(ack.code, ack.error, { ok: false });
    }
    return ack;
  }
}
