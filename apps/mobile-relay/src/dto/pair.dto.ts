import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';
import { ROLES, type Role } from '@app/auth';
import { Text } from '@app/core';

/** `POST /v1/pair`: a pairing code traded for a device token. */
export class PairDto {
  @ApiProperty({
    example: 'ABCD-EFGH-JK',
    description:
      'The code from POST /v1/devices/pairing-codes (case, spaces and dashes do not matter)',
  })
  @Length(1, 40)
  @IsString({ message: 'code must be a string' })
  code!: string;

  @ApiProperty({ example: "Dana's phone", description: 'Shown in device lists and incidents' })
  @Text('deviceName', { max: 80 })
  deviceName!: string;
}

export class PairedUserDto {
  @ApiProperty({ example: 'usr_3f9a1c2b4d5e6f70' }) id!: string;
  @ApiProperty({ example: 'Dana' }) name!: string;
  @ApiProperty({ enum: ROLES }) role!: Role;
}

export class PairedDeviceDto {
  @ApiProperty({
    description:
      'The device token (shown once): `Authorization: Bearer` on POST /v1/stop, ' +
      "and the socket's `auth: {token}`",
    example: 'ksd_9XQusPS-wTDcY1QDoYLxmcGBwbhTaYQx9h_5H4b2hyo',
  })
  deviceToken!: string;

  @ApiProperty({ example: 'dev_3f9a1c2b4d5e6f70' }) deviceId!: string;

  @ApiProperty({ type: PairedUserDto, description: "Whose device it is: the pairing code's user" })
  user!: PairedUserDto;
}
