import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiExtraModels, ApiOperation, ApiResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { CurrentPrincipal, MinRole } from '@app/auth';
import type { UserPrincipal } from '@app/auth';
import { RevocationService } from '@app/revocation';
import { ApiErrors, BODY_ERRORS } from '@app/core';
import { ApiKeyAuth, COMMON_ERRORS } from '../common/api-docs.decorator';
import { DryRunDto, RevocationDto, RevocationResultDto } from './dto/revocation.dto';

@ApiTags('revocation')
@ApiKeyAuth()
@ApiErrors(COMMON_ERRORS)
@Controller('v1/revocations')
export class RevocationsController {
  constructor(private readonly revocation: RevocationService) {}

  @Post()
  @MinRole('responder')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Bulk stop (responders, admins): by ids, labels, owner or everything; answers once all are fenced',
  })
  @ApiExtraModels(RevocationResultDto, DryRunDto)
  @ApiResponse({
    status: 200,
    description: 'Every selected agent is fenced; with dryRun, who would be (nothing changed)',
    schema: {
      oneOf: [{ $ref: getSchemaPath(RevocationResultDto) }, { $ref: getSchemaPath(DryRunDto) }],
    },
  })
  @ApiErrors({
    ...BODY_ERRORS,
    403: 'A viewer or owner: bulk stops are for responders and admins',
    404: 'No agent matches the selector (for agentIds: none exists, listed in missingIds)',
  })
  revoke(@CurrentPrincipal() principal: UserPrincipal, @Body() body: RevocationDto) {
    return this.revocation.revoke(principal, {
      selector: body.selector,
      reason: body.reason?.trim() || 'revoked',
      rollback: body.rollback,
      dryRun: body.dryRun,
    });
  }
}
