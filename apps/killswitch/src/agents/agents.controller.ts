import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AgentsService } from '@app/agents';
import { CurrentPrincipal, MinRole } from '@app/auth';
import type { UserPrincipal } from '@app/auth';
import { RevocationService } from '@app/revocation';
import { ApiErrors, BODY_ERRORS } from '@app/core';
import { ApiKeyAuth, COMMON_ERRORS } from '../common/api-docs.decorator';
import {
  AgentDto,
  AgentIdParams,
  AgentPageDto,
  CreateAgentDto,
  DeletedAgentDto,
  ListAgentsQuery,
  ReasonDto,
  ReinstatedAgentDto,
} from './dto/agent.dto';
import { AgentRevocationDto, RevokeAgentDto } from '../revocation/dto/revocation.dto';

const NO_AGENT = 'No agent has this id';

@ApiTags('agents')
@ApiKeyAuth()
@ApiErrors(COMMON_ERRORS)
@Controller('v1/agents')
export class AgentsController {
  constructor(
    private readonly agents: AgentsService,
    private readonly revocation: RevocationService,
  ) {}

  @Post()
  @MinRole('owner')
  @ApiOperation({ summary: 'Register an agent; the caller becomes its owner' })
  @ApiResponse({ status: 201, type: AgentDto, description: 'The agent, active at epoch 1' })
  @ApiErrors({ ...BODY_ERRORS, 403: 'A viewer: owners and stronger register agents' })
  create(@CurrentPrincipal() principal: UserPrincipal, @Body() body: CreateAgentDto) {
    return this.agents.create(principal, {
      name: body.name.trim(),
      labels: body.labels ?? {},
      allowedActions: body.allowedActions ?? [],
      concurrency: body.concurrency,
    });
  }

  @Get()
  @MinRole('viewer')
  @ApiOperation({
    summary: 'List agents, newest first; owners and viewers see only their own',
  })
  @ApiResponse({ status: 200, type: AgentPageDto, description: 'A page of agents' })
  list(@CurrentPrincipal() principal: UserPrincipal, @Query() query: ListAgentsQuery) {
    return this.agents.list(principal, {
      labels: (query.label ?? []).map((l) => l.split('=') as [string, string]),
      status: query.status,
      owner: query.owner,
      limit: query.limit ?? 50,
      cursor: query.cursor,
    });
  }

  @Get(':id')
  @MinRole('viewer')
  @ApiOperation({ summary: 'Read one agent' })
  @ApiResponse({ status: 200, type: AgentDto, description: 'The agent' })
  @ApiErrors({ 403: "Another owner's agent (owners and viewers see their own)", 404: NO_AGENT })
  get(@CurrentPrincipal() principal: UserPrincipal, @Param() params: AgentIdParams) {
    return this.agents.get(principal, params.id);
  }

  @Delete(':id')
  @MinRole('owner')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Delete a revoked agent (its owner or an admin); its tokens die with it',
    description:
      'An active agent is refused with 409: revoke it first, so that its queued actions are ' +
      'halted, the running one aborted and what it did rolled back. So is one whose stop is ' +
      'still being followed up: delete it once its incident is done. Its action history is kept.',
  })
  @ApiResponse({ status: 200, type: DeletedAgentDto, description: 'Deleted' })
  @ApiErrors({
    403: 'Neither its owner nor an admin',
    404: NO_AGENT,
    409: 'The agent is active, or its stop is not done (or it is being stopped again)',
  })
  delete(@CurrentPrincipal() principal: UserPrincipal, @Param() params: AgentIdParams) {
    return this.revocation.deleteAgent(principal, params.id);
  }

  @Post(':id/revoke')
  @MinRole('owner')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Stop an agent: fenced in one atomic write, then halted, aborted and rolled back (incident)',
  })
  @ApiResponse({
    status: 200,
    type: AgentRevocationDto,
    description: 'Fenced (or revoked already: then the incident that revoked it)',
  })
  @ApiErrors({
    ...BODY_ERRORS,
    403: "A viewer, or an owner revoking another owner's agent",
    404: NO_AGENT,
  })
  revoke(
    @CurrentPrincipal() principal: UserPrincipal,
    @Param() params: AgentIdParams,
    @Body() body: RevokeAgentDto,
  ) {
    return this.revocation.revokeOne(principal, params.id, body.reason?.trim() || 'revoked', {
      rollback: body.rollback,
    });
  }

  @Post(':id/reinstate')
  @MinRole('admin')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Let a revoked agent act again under a new epoch (admins, reason required)',
  })
  @ApiResponse({ status: 200, type: ReinstatedAgentDto, description: 'Active again' })
  @ApiErrors({
    ...BODY_ERRORS,
    403: "Not an admin's API key",
    404: NO_AGENT,
    409: 'Not revoked, or its stop is still being recorded or is happening again right now',
  })
  reinstate(
    @CurrentPrincipal() principal: UserPrincipal,
    @Param() params: AgentIdParams,
    @Body() body: ReasonDto,
  ) {
    return this.revocation.reinstate(principal, params.id, body.reason.trim());
  }
}
