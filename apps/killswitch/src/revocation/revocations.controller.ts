import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, MinRole } from '@app/auth';
import type { UserPrincipal } from '@app/auth';
import { RevocationService } from '@app/revocation';
import { RevocationDto } from './dto/revocation.dto';

@ApiTags('revocation')
@ApiBearerAuth()
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
  revoke(@CurrentPrincipal() principal: UserPrincipal, @Body() body: RevocationDto) {
    return this.revocation.revoke(principal, {
      selector: body.selector,
      reason: body.reason?.trim() || 'revoked',
      rollback: body.rollback,
      dryRun: body.dryRun,
    });
  }
}
