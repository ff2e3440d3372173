import { Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, MinRole } from '@app/auth';
import type { UserPrincipal } from '@app/auth';
import { DevicesService } from '@app/devices';
import { ApiErrors } from '@app/core';
import { ApiKeyAuth, COMMON_ERRORS, NOT_ADMIN, NO_USER } from '../common/api-docs.decorator';
import { UserIdParams } from '../users/dto/create-user.dto';
import {
  DeviceIdParams,
  DeviceListDto,
  PairingCodeDto,
  RevokedDeviceDto,
  RevokedDevicesDto,
} from './dto/device.dto';

@ApiTags('devices')
@ApiKeyAuth()
@ApiErrors(COMMON_ERRORS)
@Controller('v1/devices')
export class DevicesController {
  constructor(private readonly devices: DevicesService) {}

  @Post('pairing-codes')
  @MinRole('viewer')
  @ApiOperation({
    summary:
      'A single-use code (5 min) to pair a phone; pairingUrl opens the phone page with it. ' +
      'A user has 5 live codes at most: a sixth retires the oldest',
  })
  @ApiResponse({ status: 201, type: PairingCodeDto, description: 'The code, live 5 minutes' })
  createCode(@CurrentPrincipal() principal: UserPrincipal) {
    return this.devices.createCode(principal);
  }

  @Get()
  @MinRole('viewer')
  @ApiOperation({ summary: "The caller's paired devices" })
  @ApiResponse({ status: 200, type: DeviceListDto, description: 'Their devices' })
  list(@CurrentPrincipal() principal: UserPrincipal) {
    return this.devices.list(principal);
  }

  @Delete(':id')
  @MinRole('viewer')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke one of your devices; it is disconnected at once' })
  @ApiResponse({ status: 200, type: RevokedDeviceDto, description: 'Revoked' })
  @ApiErrors({ 404: 'None of your devices has this id' })
  revoke(@CurrentPrincipal() principal: UserPrincipal, @Param() params: DeviceIdParams) {
    return this.devices.revoke(principal, params.id);
  }
}

/** Another user's devices, for admins: cutting off a user's phones (with their API keys). */
@ApiTags('devices')
@ApiKeyAuth()
@ApiErrors({ ...COMMON_ERRORS, 403: NOT_ADMIN, 404: NO_USER })
@Controller('v1/users')
export class UserDevicesController {
  constructor(private readonly devices: DevicesService) {}

  @Get(':id/devices')
  @MinRole('admin')
  @ApiOperation({ summary: "A user's paired devices (admins)" })
  @ApiResponse({ status: 200, type: DeviceListDto, description: 'Their devices' })
  list(@Param() params: UserIdParams) {
    return this.devices.listOf(params.id);
  }

  @Delete(':id/devices')
  @MinRole('admin')
  @HttpCode(200)
  @ApiOperation({
    summary: "Revoke all of a user's paired devices at once (admins); they are disconnected",
  })
  @ApiResponse({
    status: 200,
    type: RevokedDevicesDto,
    description: 'The devices revoked; their unused pairing codes are void too',
  })
  revokeAll(@Param() params: UserIdParams) {
    return this.devices.revokeAllOf(params.id);
  }
}
