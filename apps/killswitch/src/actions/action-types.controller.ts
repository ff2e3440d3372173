import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ActionTypesService } from '@app/actions';
import { CurrentPrincipal, MinRole, type UserPrincipal } from '@app/auth';
import { ActionTypeParams, PutActionTypeDto } from './dto/action.dto';

@ApiTags('action types')
@ApiBearerAuth()
@Controller('v1/action-types')
export class ActionTypesController {
  constructor(private readonly types: ActionTypesService) {}

  @Put(':type')
  @MinRole('admin')
  @ApiOperation({ summary: 'Register or replace how a type of action is executed and undone' })
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
  async list(@CurrentPrincipal() principal: UserPrincipal) {
    return { items: await this.types.list(view(principal)) };
  }

  @Get(':type')
  @MinRole('viewer')
  get(@Param() params: ActionTypeParams, @CurrentPrincipal() principal: UserPrincipal) {
    return this.types.get(params.type, view(principal));
  }

  @Delete(':type')
  @MinRole('admin')
  @HttpCode(200)
  delete(@Param() params: ActionTypeParams) {
    return this.types.delete(params.type);
  }
}

/** A webhook's path and query may hold a secret: shown to admins, who set them. */
const view = (principal: UserPrincipal) => ({ fullUrl: principal.role === 'admin' });
