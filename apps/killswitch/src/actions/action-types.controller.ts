import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ActionTypesService } from '@app/actions';
import { CurrentPrincipal, MinRole, type UserPrincipal } from '@app/auth';
import { ApiErrors, BODY_ERRORS } from '@app/core';
import { ApiKeyAuth, COMMON_ERRORS, NOT_ADMIN } from '../common/api-docs.decorator';
import {
  ActionTypeDto,
  ActionTypeListDto,
  ActionTypeParams,
  DeletedActionTypeDto,
  PutActionTypeDto,
} from './dto/action.dto';

const NO_TYPE = 'The catalog has no such type';

@ApiTags('action types')
@ApiKeyAuth()
@ApiErrors(COMMON_ERRORS)
@Controller('v1/action-types')
export class ActionTypesController {
  constructor(private readonly types: ActionTypesService) {}

  @Put(':type')
  @MinRole('admin')
  @ApiOperation({ summary: 'Register or replace how a type of action is executed and undone' })
  @ApiResponse({
    status: 200,
    type: ActionTypeDto,
    description: 'The type as registered (its webhook secret shown as [set])',
  })
  @ApiErrors({
    ...BODY_ERRORS,
    400:
      `${COMMON_ERRORS[400]}; an executor its kind refuses, a reversible type without a ` +
      'compensation that exists, or requiresApproval: true',
    403: NOT_ADMIN,
  })
  put(@Param() params: ActionTypeParams, @Body() body: PutActionTypeDto) {
    return this.types.put(params.type, {
      executor: { ...body.executor },
      reversible: body.reversible,
      compensation: body.compensation,
      requiresApproval: body.requiresApproval,
    });
  }

  @Get()
  @MinRole('viewer')
  @ApiOperation({
    summary: "The catalog (webhook secrets are never shown; webhooks' paths only to admins)",
  })
  @ApiResponse({ status: 200, type: ActionTypeListDto, description: 'Every registered type' })
  async list(@CurrentPrincipal() principal: UserPrincipal) {
    return { items: await this.types.list(view(principal)) };
  }

  @Get(':type')
  @MinRole('viewer')
  @ApiOperation({ summary: "One type (its webhook's secret never shown, its path only to admins)" })
  @ApiResponse({ status: 200, type: ActionTypeDto, description: 'The type' })
  @ApiErrors({ 404: NO_TYPE })
  get(@Param() params: ActionTypeParams, @CurrentPrincipal() principal: UserPrincipal) {
    return this.types.get(params.type, view(principal));
  }

  @Delete(':type')
  @MinRole('admin')
  @HttpCode(200)
  @ApiOperation({
    summary: "Remove a type from the catalog (not while it is another's compensation)",
  })
  @ApiResponse({ status: 200, type: DeletedActionTypeDto, description: 'Deleted' })
  @ApiErrors({ 403: NOT_ADMIN, 404: NO_TYPE, 409: 'The type is the compensation of another' })
  delete(@Param() params: ActionTypeParams) {
    return this.types.delete(params.type);
  }
}

/** A webhook's path and query may hold a secret: shown to admins, who set them. */
const view = (principal: UserPrincipal) => ({ fullUrl: principal.role === 'admin' });
