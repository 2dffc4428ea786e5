/** Ground-truth intake and the monitoring reads: the timeline, one report (JSON or a page), the alerts. */
import { Inject, Injectable } from '@nestjs/common';
import { ArtifactStore } from '../../libs/artifacts';
import { RegistryService } from '../../libs/registry';
import type { NewFeedback } from '../../libs/registry';
import { badRequest, notFound } from '../common/api-error';
import type { ErrorDetail } from '../common/api-error';
import { RequestContext } from '../common/request-context';
import { ModelsService } from '../models/models.service';
import type { FeedbackBody } from './monitoring.dto';
import { alertView, reportSummaryView } from './monitoring.views';
import type { AlertView, FeedbackResult, MonitoringReportSummaryView, MonitoringReportView } from './monitoring.views';
import { renderReportPage } from './report-page';

/** Reports shown on the page's metric timelines. */
const TIMELINE_REPORTS = 30;

@Injectable()
export class MonitoringService {
  constructor(
    @Inject(RegistryService) private readonly registry: RegistryService,
    @Inject(ArtifactStore) private readonly store: ArtifactStore,
    @Inject(ModelsService) private readonly models: ModelsService,
    @Inject(RequestContext) private readonly context: RequestContext,
  ) {}

  async feedback(name: string, body: FeedbackBody): Promise<FeedbackResult> {
    const model = await this.models.requireModel(name);
    const regression = model.spec.task === 'regression';
    const details: ErrorDetail[] = [];
    const items: NewFeedback[] = body.items.map((item, i) => {
      if (regression && item.value === undefined) details.push({ path: `items.${i}.value`, message: `'${name}' is a regression model: give the true value as \`value\`` });
      if (!regression && item.label === undefined) details.push({ path: `items.${i}.label`, message: `'${name}' is a classification model: give the true class as \`label\`` });
      if (regression && item.label !== undefined) details.push({ path: `items.${i}.label`, message: 'a regression model takes `value`, not `label`' });
      if (!regression && item.value !== undefined) details.push({ path: `items.${i}.value`, message: 'a classification model takes `label`, not `value`' });
      return regression ? { requestId: item.requestId, value: item.value } : { requestId: item.requestId, label: item.label };
    });
    if (details.length) {
      const more = details.length > 1 ? ` (and ${details.length - 1} more, see details)` : '';
      throw badRequest(`invalid feedback: ${details[0].path}: ${details[0].message}${more}`, details.slice(0, 100));
    }
    return this.registry.recordFeedback(model.id, items, this.context.actor);
  }

  async timeline(name: string, limit = 50): Promise<MonitoringReportSummaryView[]> {
    const model = await this.models.requireModel(name);
    return (await this.registry.listMonitoringReports(model.id, limit)).map((r) => reportSummaryView(name, r));
  }

  async report(name: string, id: string): Promise<MonitoringReportView> {
    const model = await this.models.requireModel(name);
    const row = await this.registry.findMonitoringReport(model.id, id);
    if (!row) throw notFound(`model '${name}' has no monitoring report ${id}; GET /v1/models/${name}/monitoring lists them`);
    const alerts = await this.registry.listAlertsOfReport(row.id);
    const deliveries = await this.registry.listWebhookDeliveries(alerts.map((a) => a.id));
    const report = await this.store.getJson<Record<string, unknown>>(row.artifactKey);
    return { ...reportSummaryView(name, row), alerts: alerts.map((a) => alertView(name, a, deliveries)), report };
  }

  async page(name: string, id: string): Promise<string> {
    const view = await this.report(name, id);
    const model = await this.models.requireModel(name);
    const recent = (await this.registry.listMonitoringReports(model.id, TIMELINE_REPORTS)).map((r) => reportSummaryView(name, r));
    return renderReportPage(view, recent);
  }

  async alerts(name: string, limit = 100): Promise<AlertView[]> {
    const model = await this.models.requireModel(name);
    const alerts = await this.registry.listAlerts(model.id, limit);
    const deliveries = await this.registry.listWebhookDeliveries(alerts.map((a) => a.id));
    return alerts.map((a) => alertView(name, a, deliveries));
  }
}
