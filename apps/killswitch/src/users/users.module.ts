import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { AdminBootstrap } from './admin.bootstrap';
import { UsersController } from './users.controller';

@Module({
  imports: [AuthModule],
  controllers: [UsersController],
  providers: [AdminBootstrap],
})
export class UsersModule {}
