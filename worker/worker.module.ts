import { Module } from '@nestjs/common';
import { CoreModule } from '../libs/core/core.module';

/** The worker's Nest context: configuration, registry and artifact store; no HTTP. */
@Module({ imports: [CoreModule] })
export class WorkerModule {}
