import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { MonitoringController } from './monitoring.controller';
import { MonitoringService } from './monitoring.service';

/** Monitoring: ground-truth feedback, window reports (JSON and a page) and alerts. */
@Module({ imports: [ModelsModule], controllers: [MonitoringController], providers: [MonitoringService] })
export class MonitoringModule {}
