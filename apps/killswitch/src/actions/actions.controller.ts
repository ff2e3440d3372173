import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ActionsService } from '@app/actions';
import { CurrentPrincipal, LeaseAuth, MinRoleOrLease } from '@app/auth';
import type { Principal } from '@app/auth';
import { AgentIdParams } from '../agents/dto/agent.dto';
import {
  ActionIdParams,
  ListActionsQuery,
  SubmitActionDto,
  SubmittedActionDto,
} from './dto/action.dto';

@ApiTags('actions')
@ApiBearerAuth()
@Controller('v1')
export class ActionsController {
  constructor(private readonly actions: ActionsService) {}

  @Post('actions')
  @LeaseAuth()
  @HttpCode(202)
  @ApiOperation({
    summary: 'An agent asks killswitch to act (lease token); runs only while the lease is live',
  })
  @ApiResponse({ status: 202, type: SubmittedActionDto })
  @ApiResponse({
    status: 429,
    description: 'The agent has ACTION_MAX_QUEUED_PER_AGENT actions queued or running',
  })
  submit(@CurrentPrincipal() principal: Principal, @Body() body: SubmitActionDto) {
    return this.actions.submit(principal, body);
  }

  @Get('actions/:id')
  @MinRoleOrLease('viewer')
  @ApiOperation({
    summary: 'One action with its status history (the agent, its owner, responders, admins)',
  })
  get(@CurrentPrincipal() principal: Principal, @Param() params: ActionIdParams) {
    return this.actions.get(principal, params.id);
  }

  @Get('agents/:id/actions')
  @MinRoleOrLease('viewer')
  @ApiOperation({ summary: "An agent's actions, newest first" })
  list(
    @CurrentPrincipal() principal: Principal,
    @Param() params: AgentIdParams,
    @Query() query: ListActionsQuery,
  ) {
    return this.actions.list(
      principal,
      params.id,
      query.cursor === undefined ? undefined : Number(query.cursor),
      query.limit ?? 50,
    );
  }
}
