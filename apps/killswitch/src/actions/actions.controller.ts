import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ActionsService } from '@app/actions';
import { CurrentPrincipal, LeaseAuth, MinRoleOrLease } from '@app/auth';
import type { Principal } from '@app/auth';
import { AgentIdParams } from '../agents/dto/agent.dto';
import { ApiErrors, BODY_ERRORS } from '@app/core';
import {
  ApiKeyOrLeaseTokenAuth,
  COMMON_ERRORS,
  LeaseTokenAuth,
} from '../common/api-docs.decorator';
import {
  ActionDto,
  ActionIdParams,
  ActionPageDto,
  ListActionsQuery,
  SubmitActionDto,
  SubmittedActionDto,
} from './dto/action.dto';

const NOT_ITS_READER =
  "Another agent's lease token, or the API key of a viewer or owner not owning the agent";

@ApiTags('actions')
@ApiErrors(COMMON_ERRORS)
@Controller('v1')
export class ActionsController {
  constructor(private readonly actions: ActionsService) {}

  @Post('actions')
  @LeaseAuth()
  @HttpCode(202)
  @ApiOperation({
    summary: 'An agent asks killswitch to act (lease token); runs only while the lease is live',
  })
  @ApiResponse({
    status: 202,
    type: SubmittedActionDto,
    description: 'Queued (or, for a retried idempotencyKey, the first action)',
  })
  @LeaseTokenAuth()
  @ApiErrors({
    ...BODY_ERRORS,
    400: 'A malformed body (each message names the field) or a query string',
    403: "The type is not in the agent's allowedActions",
    404: 'The type is not in the catalog',
    429: 'The agent has ACTION_MAX_QUEUED_PER_AGENT actions queued or running',
  })
  submit(@CurrentPrincipal() principal: Principal, @Body() body: SubmitActionDto) {
    return this.actions.submit(principal, body);
  }

  @Get('actions/:id')
  @MinRoleOrLease('viewer')
  @ApiOperation({
    summary: 'One action with its status history (the agent, its owner, responders, admins)',
  })
  @ApiResponse({ status: 200, type: ActionDto, description: 'The action' })
  @ApiKeyOrLeaseTokenAuth()
  @ApiErrors({ 403: NOT_ITS_READER, 404: 'No action has this id' })
  get(@CurrentPrincipal() principal: Principal, @Param() params: ActionIdParams) {
    return this.actions.get(principal, params.id);
  }

  @Get('agents/:id/actions')
  @MinRoleOrLease('viewer')
  @ApiOperation({ summary: "An agent's actions, newest first" })
  @ApiResponse({ status: 200, type: ActionPageDto, description: 'A page of actions' })
  @ApiKeyOrLeaseTokenAuth()
  @ApiErrors({ 403: NOT_ITS_READER, 404: 'No agent has this id (for an owner or viewer)' })
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
