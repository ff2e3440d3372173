import { Body, Controller, Headers, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiHeader,
  ApiOperation,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { AgentsService } from '@app/agents';
import { bearerToken, CurrentPrincipal, MinRole, Public } from '@app/auth';
import type { UserPrincipal } from '@app/auth';
import { AcceptsForm, ApiErrors, badRequest, BODY_ERRORS } from '@app/core';
import { LeasesService } from '@app/leases';
import { AgentIdParams } from '../agents/dto/agent.dto';
import { ApiKeyAuth, COMMON_ERRORS, LeaseTokenAuth } from '../common/api-docs.decorator';
import {
  HeartbeatDto,
  IntrospectionDto,
  IntrospectionRequestDto,
  IssuedLeaseDto,
  IssueLeaseDto,
} from './dto/lease.dto';

@ApiTags('leases')
@ApiErrors({ 503: COMMON_ERRORS[503] })
@Controller('v1')
export class LeasesController {
  constructor(
    private readonly agents: AgentsService,
    private readonly leases: LeasesService,
  ) {}

  @Post('agents/:id/leases')
  @MinRole('owner')
  @ApiOperation({ summary: 'Issue a lease for an agent (its owner or an admin); token shown once' })
  @ApiResponse({ status: 201, type: IssuedLeaseDto, description: 'The lease and its token' })
  @ApiKeyAuth()
  @ApiErrors({
    ...COMMON_ERRORS,
    ...BODY_ERRORS,
    400: `${COMMON_ERRORS[400]}; a ttlSeconds over LEASE_MAX_TTL_SECONDS`,
    403: 'Neither its owner nor an admin',
    404: 'No agent has this id',
    409: 'The agent is revoked: an admin must reinstate it first',
  })
  async issue(
    @CurrentPrincipal() principal: UserPrincipal,
    @Param() params: AgentIdParams,
    @Body() body: IssueLeaseDto,
  ) {
    await this.agents.getManaged(principal, params.id);
    return this.leases.issue(params.id, body.ttlSeconds);
  }

  // Public to the guard: the heartbeat checks and renews the lease token itself, in one atomic
  // step, and answers 401 with the lease's status when it is not live.
  @Post('leases/heartbeat')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Renew a lease (Authorization: Bearer <lease token>)' })
  @ApiResponse({ status: 200, type: HeartbeatDto, description: 'Renewed' })
  @LeaseTokenAuth()
  // The handler reads the header itself; what it takes is the lease-token scheme's.
  @ApiHeader({ name: 'authorization', required: false, description: 'Bearer <lease token>' })
  @ApiErrors({
    400: 'A body other than {}: this route takes none',
    415: 'A body not sent as application/json',
  })
  heartbeat(@Headers('authorization') authorization?: string) {
    return this.leases.heartbeat(bearerToken(authorization) ?? '');
  }

  @Post('introspect')
  @MinRole('viewer')
  @HttpCode(200)
  @ApiConsumes('application/x-www-form-urlencoded', 'application/json')
  @ApiBody({ type: IntrospectionRequestDto })
  @ApiOperation({ summary: 'RFC 7662 token introspection for resource servers (API key)' })
  @ApiResponse({
    status: 200,
    type: IntrospectionDto,
    description: 'Whether the token is live; if so, whose it is',
  })
  @ApiKeyAuth()
  @ApiErrors({
    ...COMMON_ERRORS,
    400: 'No token (form field or JSON), a query string, or a malformed X-Killswitch-Client',
    413: BODY_ERRORS[413],
    415: 'The body is neither a form nor JSON',
  })
  // A plain record, not a DTO: RFC 7662 clients may add parameters (client_id,
  // token_type_hint) that strict whitelisting would refuse.
  @AcceptsForm()
  introspect(@Body() body: Record<string, unknown> | undefined) {
    const token = body?.token;
    if (typeof token !== 'string' || token === '') {
      throw badRequest('token is required (form field or JSON)');
    }
    return this.leases.introspect(token);
  }
}
