import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';

/** The audit log, read-only over HTTP. */
@Module({ controllers: [AuditController] })
export class AuditModule {}
