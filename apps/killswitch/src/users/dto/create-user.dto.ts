import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsString, Matches } from 'class-validator';
import { ROLES, USER_ID } from '@app/auth';
import { Text } from '@app/core';
import type { Role } from '@app/auth';

export class CreateUserDto {
  @ApiProperty({ example: 'Dana (on-call)', maxLength: 100 })
  @Text('name', { max: 100 })
  name!: string;

  @ApiProperty({ enum: ROLES, example: 'owner' })
  @IsIn(ROLES, { message: `role must be one of ${ROLES.join(', ')}` })
  role!: Role;
}

export class UserDto {
  @ApiProperty({ example: 'usr_3f9a1c2b4d5e6f70' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ROLES }) role!: Role;
  @ApiProperty({ example: '2026-11-26T14:00:00.000Z' }) createdAt!: string;
}

export class CreatedUserDto extends UserDto {
  @ApiProperty({ description: 'Shown once; store it now', example: 'ksk_…' }) apiKey!: string;
}

export class UserListDto {
  @ApiProperty({ type: [UserDto] }) items!: (UserDto & { activeKeys: number })[];
}

export class UserIdParams {
  @IsString()
  @Matches(USER_ID, { message: 'id must be a user id such as usr_3f9a1c2b4d5e6f70' })
  id!: string;
}
