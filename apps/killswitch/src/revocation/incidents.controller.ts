import { Body, Controller, Get, Param, Post, Query, Res } from '@nestjs/common';
import { ApiExtraModels, ApiOperation, ApiResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentPrincipal, MinRole } from '@app/auth';
import type { UserPrincipal } from '@app/auth';
import { ApiErrors, badRequest, BODY_ERRORS } from '@app/core';
import { IncidentsService } from '@app/incidents';
import { ApiKeyAuth, COMMON_ERRORS } from '../common/api-docs.decorator';
import {
  IncidentDto,
  IncidentIdParams,
  IncidentPageDto,
  IncidentQuery,
  ListIncidentsQuery,
  ResolveIncidentDto,
} from './dto/revocation.dto';

const NOT_INVOLVED = 'An owner or viewer, and the incident lists none of their agents';
const NO_INCIDENT = 'No incident has this id';

@ApiTags('incidents')
@ApiKeyAuth()
@ApiErrors(COMMON_ERRORS)
@Controller('v1/incidents')
export class IncidentsController {
  constructor(private readonly incidents: IncidentsService) {}

  @Get()
  @MinRole('viewer')
  @ApiOperation({ summary: 'Incidents, newest first (owners: those involving their agents)' })
  @ApiResponse({ status: 200, type: IncidentPageDto, description: 'A page of incidents' })
  list(@CurrentPrincipal() principal: UserPrincipal, @Query() query: ListIncidentsQuery) {
    return this.incidents.list(principal, {
      status: query.status,
      limit: query.limit ?? 50,
      cursor: query.cursor,
    });
  }

  @Get(':id')
  @MinRole('viewer')
  @ApiExtraModels(IncidentDto)
  @ApiResponse({
    status: 200,
    description: 'The incident; with ?format=md, a Markdown report of all of it',
    content: {
      'application/json': { schema: { $ref: getSchemaPath(IncidentDto) } },
      'text/markdown': { schema: { type: 'string' } },
    },
  })
  @ApiErrors({
    400: `${COMMON_ERRORS[400]}; format=md with timeline, review or agents`,
    403: NOT_INVOLVED,
    404: NO_INCIDENT,
  })
  @ApiOperation({
    summary:
      'One incident with counts and timeline; ?timeline=N for its newest N entries, ?review=N for its first N review items, ?agents=N for its first N agent ids; ?format=md for a report',
  })
  async get(
    @CurrentPrincipal() principal: UserPrincipal,
    @Param() params: IncidentIdParams,
    @Query() query: IncidentQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    if (query.format === 'md') {
      const cuts = (['timeline', 'review', 'agents'] as const).filter(
        (k) => query[k] !== undefined,
      );
      if (cuts.length > 0) {
        throw badRequest(
          `format=md is always the whole incident: ${cuts.join(', ')} ${cuts.length > 1 ? 'apply' : 'applies'} to JSON only`,
        );
      }
      void reply.header('content-type', 'text/markdown; charset=utf-8');
      return this.incidents.markdown(principal, params.id);
    }
    return this.incidents.get(principal, params.id, query);
  }

  @Post(':id/resolve')
  @MinRole('responder')
  @ApiOperation({
    summary: 'Close an incident whose follow-up is done, with a note (responders, admins)',
  })
  @ApiResponse({ status: 201, type: IncidentDto, description: 'The incident, resolved' })
  @ApiErrors({
    ...BODY_ERRORS,
    403: `A viewer or owner; or force: true from a responder (admins only). ${NOT_INVOLVED}`,
    404: NO_INCIDENT,
    409: 'Still open or following up (admins may force it), or resolved already',
  })
  resolve(
    @CurrentPrincipal() principal: UserPrincipal,
    @Param() params: IncidentIdParams,
    @Body() body: ResolveIncidentDto,
  ) {
    return this.incidents.resolve(principal, params.id, body.note.trim(), body.force === true);
  }
}
