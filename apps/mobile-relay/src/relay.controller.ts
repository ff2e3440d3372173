import { Body, Controller, Get, Header, HttpCode, Ip, Post, Req } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import {
  ApiBearerAuth,
  ApiBody,
  ApiExcludeEndpoint,
  ApiOperation,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, DeviceAuth, Public } from '@app/auth';
import type { RequestWithPrincipal, UserPrincipal } from '@app/auth';
import { ApiErrors, BODY_ERRORS, DomainError, ErrorDto, REDIS_UNAVAILABLE } from '@app/core';
import { DevicesService } from '@app/devices';
import { PairDto, PairedDeviceDto } from './dto/pair.dto';
import { StopAckDto, StopDto } from './dto/stop.dto';
import { StopService } from './stop.service';

/** The relay's OpenAPI security scheme (see bootstrap.ts): a paired phone's opaque token. */
export const DEVICE_TOKEN_SCHEME = 'device-token';

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

  // A file of the phone page, not JSON API: out of the OpenAPI document, as the page is.
  @Get('vendor/qrcode.js')
  @Public()
  @ApiExcludeEndpoint()
  @Header('content-type', 'application/javascript; charset=utf-8')
  @Header('cache-control', 'public, max-age=86400')
  qrcode(): string {
    qrLibrary ??= readFileSync(require.resolve('qrcode-generator'), 'utf8');
    return qrLibrary;
  }

  @Post('v1/pair')
  @Public()
  @ApiOperation({ summary: 'Trade a pairing code for a device token (shown once)' })
  @ApiResponse({ status: 201, type: PairedDeviceDto, description: 'Paired' })
  @ApiErrors({
    400:
      'code or deviceName missing or malformed (the message says which), a field pairing does ' +
      'not take, or a body that is not a JSON object',
    401: 'The pairing code is wrong, used or expired: get a new one',
    ...BODY_ERRORS,
    // Pairing takes no credentials: nothing is checked before the body's type.
    415: 'The body is not sent as application/json',
    503: REDIS_UNAVAILABLE,
  })
  @ApiResponse({
    status: 429,
    type: ErrorDto,
    description:
      'This address sent 10 codes that did not pair within 15 minutes of the first: refused ' +
      'until then (`retryAfterSeconds`)',
    headers: {
      'Retry-After': {
        description: 'Seconds until this address may try again',
        schema: { type: 'integer' },
      },
    },
  })
  pair(@Body() body: PairDto, @Ip() address: string) {
    return this.devices.pair(body.code, body.deviceName.trim(), address);
  }

  // For networks that block websockets: the same stop, the same requestId deduplication.
  @Post('v1/stop')
  @DeviceAuth()
  @HttpCode(200)
  @ApiBearerAuth(DEVICE_TOKEN_SCHEME)
  @ApiBody({ type: StopDto })
  @ApiOperation({
    summary:
      "Stop agents from a paired device: the socket's `stop` over HTTP (refusals answer its " +
      '`ok: false` with an error status)',
  })
  @ApiResponse({
    status: 200,
    type: StopAckDto,
    description: 'Stopped, or the first answer to this requestId (kept 24 h): never twice',
  })
  @ApiErrors({
    400:
      '`ok: false`, the message naming every problem: not exactly one of agentId, mine and ' +
      'selector, a field a stop does not take, a requestId or reason that breaks its rules. ' +
      'Also (without `ok`) a body that is not a JSON object',
    401:
      'No device token, or an unknown or revoked one (an API key or lease token is named as ' +
      'such): pair this device again',
    403:
      "`ok: false`: a viewer's device; an owner's stopping another owner's agent, or by a " +
      'selector only responders and admins may use',
    404: '`ok: false`: no agent has this agentId, or none matches the selector',
    409:
      '`ok: false`: an earlier delivery of this requestId is still being carried out (waited ' +
      'for 5 s); send it again later',
    ...BODY_ERRORS,
    503: `${REDIS_UNAVAILABLE}; \`ok: false\` once the device is known: send the stop again`,
  })
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
