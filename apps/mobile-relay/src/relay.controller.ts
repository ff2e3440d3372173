import { Body, Controller, Get, Header, HttpCode, Ip, Post, Req } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';
import { CurrentPrincipal, DeviceAuth, Public } from '@app/auth';
import type { RequestWithPrincipal, UserPrincipal } from '@app/auth';
import { DomainError, Text } from '@app/core';
import { DevicesService } from '@app/devices';
import { StopDto } from './dto/stop.dto';
import { StopService } from './stop.service';

export class PairDto {
  @ApiProperty({
    example: 'ABCD-EFGH-JK',
    description: 'The code from POST /v1/devices/pairing-codes',
  })
  @Length(1, 40)
  @IsString({ message: 'code must be a string' })
  code!: string;

  @ApiProperty({ example: "Dana's phone" })
  @Text('deviceName', { max: 80 })
  deviceName!: string;
}

// The QR code generator the phone page draws pairing links with (qrcode-generator, MIT; its
// CommonJS build is a UMD script that also runs in browsers): served
// from the installed package so the page needs no build step and no third-party host.
let qrLibrary: string | undefined;

@ApiTags('relay')
@Controller()
export class RelayController {
  constructor(
    private readonly devices: DevicesService,
    private readonly stops: StopService,
  ) {}

  @Get('vendor/qrcode.js')
  @Public()
  @Header('content-type', 'application/javascript; charset=utf-8')
  @Header('cache-control', 'public, max-age=86400')
  qrcode(): string {
    qrLibrary ??= readFileSync(require.resolve('qrcode-generator'), 'utf8');
    return qrLibrary;
  }

  @Post('v1/pair')
  @Public()
  @ApiOperation({ summary: 'Trade a pairing code for a device token (shown once)' })
  pair(@Body() body: PairDto, @Ip() address: string) {
    return this.devices.pair(body.code, body.deviceName.trim(), address);
  }

  // For networks that block websockets: the same stop, the same requestId deduplication.
  @Post('v1/stop')
  @DeviceAuth()
  @HttpCode(200)
  @ApiBearerAuth()
  @ApiBody({ type: StopDto })
  @ApiOperation({ summary: 'Stop agents from a paired device (Authorization: Bearer ksd_…)' })
  async stop(
    @CurrentPrincipal() principal: UserPrincipal,
    @Req() request: RequestWithPrincipal,
    // Not typed as the DTO: StopService validates it (as it does the socket's), and a refusal
    // answers with the ack's {ok: false} that the pipe's error would not have.
    @Body() body: unknown,
  ) {
    const device = request.device;
    if (!device) {
      // The device guard sets it; without it, stops of different phones would share requestIds.
      throw new Error('the device guard did not identify the device');
    }
    const ack = await this.stops.stop(principal, device, body);
    if (!ack.ok) {
      throw new DomainError(ack.code, ack.error, { ok: false });
    }
    return ack;
  }
}
