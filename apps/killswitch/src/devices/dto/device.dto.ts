import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';

export class DeviceIdParams {
  @ApiProperty({ description: 'A device id', example: 'dev_3f9a1c2b4d5e6f70' })
  @Matches(/^dev_[0-9a-f]{16}$/, { message: 'id must be a device id such as dev_3f9a1c2b4d5e6f70' })
  id!: string;
}

export class PairingCodeDto {
  @ApiProperty({ description: 'Single use; typed or scanned on the phone', example: 'ABCDEFGHJK' })
  code!: string;
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
  @ApiProperty({
    description: "The relay's phone page, with the code in its fragment",
    example: 'http://localhost:3001/#pair=ABCDEFGHJK',
  })
  pairingUrl!: string;
}

export class DeviceDto {
  @ApiProperty({ example: 'dev_3f9a1c2b4d5e6f70' }) id!: string;
  @ApiProperty({ example: 'usr_3f9a1c2b4d5e6f70' }) userId!: string;
  @ApiProperty({ example: "Dana's phone" }) name!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class DeviceListDto {
  @ApiProperty({ type: [DeviceDto] }) items!: DeviceDto[];
}

export class RevokedDeviceDto {
  @ApiProperty({ example: 'dev_3f9a1c2b4d5e6f70' }) id!: string;
  @ApiProperty({ enum: [true] }) revoked!: true;
}

export class RevokedDevicesDto {
  @ApiProperty({ example: 'usr_3f9a1c2b4d5e6f70' }) userId!: string;
  @ApiProperty({ type: [String], example: ['dev_3f9a1c2b4d5e6f70'] }) revokedDevices!: string[];
}
