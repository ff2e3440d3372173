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
  @ApiProperty({ example: 'Dana (on-call)' }) name!: string;
  @ApiProperty({ enum: ROLES }) role!: Role;
  @ApiProperty({ format: 'date-time', example: '2026-11-26T14:00:00.000Z' }) createdAt!: string;
}

export class CreatedUserDto extends UserDto {
  @ApiProperty({ description: 'Shown once; store it now', example: 'ksk_…' }) apiKey!: string;
}

export class ListedUserDto extends UserDto {
  @ApiProperty({ type: 'integer', description: 'How many live API keys the user has', example: 1 })
  activeKeys!: number;
}

export class UserListDto {
  @ApiProperty({ type: [ListedUserDto] }) items!: ListedUserDto[];
}

export class IssuedKeyDto {
  @ApiProperty({ example: 'usr_3f9a1c2b4d5e6f70' }) userId!: string;
  @ApiProperty({ description: 'Shown once; store it now', example: 'ksk_…' }) apiKey!: string;
}

export class RevokedKeysDto {
  @ApiProperty({ example: 'usr_3f9a1c2b4d5e6f70' }) userId!: string;
  @ApiProperty({ type: 'integer', description: 'How many keys were revoked', example: 2 })
  revokedKeys!: number;
}

/** `GET /v1/me`: the caller, as the guard authenticated its API key. */
export class MeDto {
  @ApiProperty({ enum: ['user'] }) kind!: 'user';
  @ApiProperty({ example: 'usr_3f9a1c2b4d5e6f70' }) userId!: string;
  @ApiProperty({ example: 'Dana (on-call)' }) name!: string;
  @ApiProperty({ enum: ROLES }) role!: Role;
  @ApiProperty({
    description: 'The interface the call came through: X-Killswitch-Client, else "api"',
    example: 'api',
  })
  via!: string;
}

export class UserIdParams {
  @ApiProperty({ description: 'A user id', example: 'usr_3f9a1c2b4d5e6f70' })
  @IsString()
  @Matches(USER_ID, { message: 'id must be a user id such as usr_3f9a1c2b4d5e6f70' })
  id!: string;
}
