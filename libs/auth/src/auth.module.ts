import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthGuard } from './auth.guard';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

/** Users, API keys and the global default-deny guard. */
@Module({
  providers: [UsersRepository, UsersService, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [UsersService],
})
export class AuthModule {}
