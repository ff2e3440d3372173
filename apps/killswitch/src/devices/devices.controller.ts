import { Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { CurrentPrincipal, MinRole } from '@app/auth';
import type { UserPrincipal } from '@app/auth';
import { DevicesService } from '@app/devices';
import { UserIdParams } from '../users/dto/create-user.dto';

class DeviceIdParams {
  @Matches(/^dev_[0-9a-f]{16}$/, { message: 'id must be a device id such as dev_3f9a1c2b4d5e6f70' })
  id!: string;
}

@ApiTags('devices')
@ApiBearerAuth()
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
  createCode(@CurrentPrincipal() principal: UserPrincipal) {
    return this.devices.createCode(principal);
  }

  @Get()
  @MinRole('viewer')
  @ApiOperation({ summary: "The caller's paired devices" })
  list(@CurrentPrincipal() principal: UserPrincipal) {
    return this.devices.list(principal);
  }

  @Delete(':id')
  @MinRole('viewer')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke one of your devices; it is disconnected at once' })
  revoke(@CurrentPrincipal() principal: UserPrincipal, @Param() params: DeviceIdParams) {
    return this.devices.revoke(principal, params.id);
  }
}

/** Another user's devices, for admins: cutting off a user's phones (with their API keys). */
@ApiTags('devices')
@ApiBearerAuth()
@Controller('v1/users')
export class UserDevicesController {
  constructor(private readonly devices: DevicesService) {}

  @Get(':id/devices')
  @MinRole('admin')
  @ApiOperation({ summary: "A user's paired devices (admins)" })
  list(@Param() params: UserIdParams) {
    return this.devices.listOf(params.id);
  }

  @Delete(':id/devices')
  @MinRole('admin')
  @HttpCode(200)
  @ApiOperation({
    summary: "Revoke all of a user's paired devices at once (admins); they are disconnected",
  })
  revokeAll(@Param() params: UserIdParams) {
    return this.devices.revokeAllOf(params.id);
  }
}
