import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, MinRole, UsersService } from '@app/auth';
import type { Principal } from '@app/auth';
import { ApiErrors, BODY_ERRORS } from '@app/core';
import { ApiKeyAuth, COMMON_ERRORS, NOT_ADMIN, NO_USER } from '../common/api-docs.decorator';
import {
  CreatedUserDto,
  CreateUserDto,
  IssuedKeyDto,
  MeDto,
  RevokedKeysDto,
  UserIdParams,
  UserListDto,
} from './dto/create-user.dto';

@ApiTags('users')
@ApiKeyAuth()
@ApiErrors(COMMON_ERRORS)
@Controller('v1')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post('users')
  @MinRole('admin')
  @ApiOperation({ summary: 'Create a user; the API key in the answer is shown only once' })
  @ApiResponse({
    status: 201,
    type: CreatedUserDto,
    description: 'The user, with its first API key',
  })
  @ApiErrors({ ...BODY_ERRORS, 403: NOT_ADMIN })
  create(@Body() body: CreateUserDto) {
    return this.users.create(body.name.trim(), body.role);
  }

  @Get('users')
  @MinRole('admin')
  @ApiOperation({ summary: 'List users with their number of live API keys' })
  @ApiResponse({ status: 200, type: UserListDto, description: 'Every user, oldest first' })
  @ApiErrors({ 403: NOT_ADMIN })
  async list() {
    return { items: await this.users.list() };
  }

  @Post('users/:id/keys')
  @MinRole('admin')
  @ApiOperation({ summary: 'Issue an additional API key for a user (shown once)' })
  @ApiResponse({ status: 201, type: IssuedKeyDto, description: 'The new key' })
  @ApiErrors({ 403: NOT_ADMIN, 404: NO_USER })
  issueKey(@Param() params: UserIdParams) {
    return this.users.issueKey(params.id);
  }

  @Delete('users/:id/keys')
  @MinRole('admin')
  @HttpCode(200)
  @ApiOperation({ summary: "Revoke all of a user's API keys at once" })
  @ApiResponse({
    status: 200,
    type: RevokedKeysDto,
    description: 'How many keys were revoked; they answer 401 at once',
  })
  @ApiErrors({ 403: NOT_ADMIN, 404: NO_USER })
  revokeKeys(@Param() params: UserIdParams) {
    return this.users.revokeKeys(params.id);
  }

  @Get('me')
  @MinRole('viewer')
  @ApiOperation({ summary: 'Who the presented API key belongs to' })
  @ApiResponse({ status: 200, type: MeDto, description: 'The caller' })
  me(@CurrentPrincipal() principal: Principal) {
    return principal;
  }
}
