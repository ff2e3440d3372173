import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, MinRole, UsersService } from '@app/auth';
import type { Principal } from '@app/auth';
import { CreatedUserDto, CreateUserDto, UserIdParams, UserListDto } from './dto/create-user.dto';

@ApiTags('users')
@ApiBearerAuth()
@Controller('v1')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post('users')
  @MinRole('admin')
  @ApiOperation({ summary: 'Create a user; the API key in the answer is shown only once' })
  @ApiResponse({ status: 201, type: CreatedUserDto })
  create(@Body() body: CreateUserDto) {
    return this.users.create(body.name.trim(), body.role);
  }

  @Get('users')
  @MinRole('admin')
  @ApiOperation({ summary: 'List users with their number of live API keys' })
  @ApiResponse({ status: 200, type: UserListDto })
  async list() {
    return { items: await this.users.list() };
  }

  @Post('users/:id/keys')
  @MinRole('admin')
  @ApiOperation({ summary: 'Issue an additional API key for a user (shown once)' })
  issueKey(@Param() params: UserIdParams) {
    return this.users.issueKey(params.id);
  }

  @Delete('users/:id/keys')
  @MinRole('admin')
  @HttpCode(200)
  @ApiOperation({ summary: "Revoke all of a user's API keys at once" })
  revokeKeys(@Param() params: UserIdParams) {
    return this.users.revokeKeys(params.id);
  }

  @Get('me')
  @MinRole('viewer')
  @ApiOperation({ summary: 'Who the presented API key belongs to' })
  me(@CurrentPrincipal() principal: Principal) {
    return principal;
  }
}
