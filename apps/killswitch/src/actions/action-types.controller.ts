import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ActionTypesService } from '@app/actions';
import { MinRole } from '@app/auth';
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
  @ApiOperation({ summary: 'The catalog (webhook secrets are never shown)' })
  async list() {
    return { items: await this.types.list() };
  }

  @Get(':type')
  @MinRole('viewer')
  get(@Param() params: ActionTypeParams) {
    return this.types.get(params.type);
  }

  @Delete(':type')
  @MinRole('admin')
  @HttpCode(200)
  delete(@Param() params: ActionTypeParams) {
    return this.types.delete(params.type);
  }
}
