import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AgentsService } from '@app/agents';
import { CurrentPrincipal, MinRole } from '@app/auth';
import type { UserPrincipal } from '@app/auth';
import { RevocationService } from '@app/revocation';
import {
  AgentDto,
  AgentIdParams,
  AgentPageDto,
  CreateAgentDto,
  ListAgentsQuery,
  ReasonDto,
} from './dto/agent.dto';
import { RevokeAgentDto } from '../revocation/dto/revocation.dto';

@ApiTags('agents')
@ApiBearerAuth()
@Controller('v1/agents')
export class AgentsController {
  constructor(
    private readonly agents: AgentsService,
    private readonly revocation: RevocationService,
  ) {}

  @Post()
  @MinRole('owner')
  @ApiOperation({ summary: 'Register an agent; the caller becomes its owner' })
  @ApiResponse({ status: 201, type: AgentDto })
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
  @ApiResponse({ status: 200, type: AgentPageDto })
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
  @ApiResponse({ status: 200, type: AgentDto })
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
  @ApiResponse({ status: 409, description: 'the agent is active, or its stop is not done' })
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
  reinstate(
    @CurrentPrincipal() principal: UserPrincipal,
    @Param() params: AgentIdParams,
    @Body() body: ReasonDto,
  ) {
    return this.revocation.reinstate(principal, params.id, body.reason.trim());
  }
}
