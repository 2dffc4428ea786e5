/** Data set snapshots: streamed uploads stored content-addressed, and reads with their validation report and profile. */
import * as path from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import { ArtifactStore } from '../../libs/artifacts';
import { APP_CONFIG } from '../../libs/config';
import type { AppConfig } from '../../libs/config';
import { RegistryService } from '../../libs/registry';
import { notFound } from '../common/api-error';
import { RequestContext } from '../common/request-context';
import { ModelsService } from '../models/models.service';
import { toDatasetView } from './datasets.views';
import type { DatasetDetail, DatasetFormat, DatasetUploaded, DatasetView } from './datasets.views';
import { FORMAT_CONTENT_TYPE, FORMAT_EXT, openUpload } from './upload';

@Injectable()
export class DatasetsService {
  private readonly logger = new Logger('datasets');

  constructor(
    @Inject(RegistryService) private readonly registry: RegistryService,
    @Inject(ArtifactStore) private readonly store: ArtifactStore,
    @Inject(ModelsService) private readonly models: ModelsService,
    @Inject(RequestContext) private readonly context: RequestContext,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Streams the request body to a temporary file while hashing it (never holding it in memory), then stores it
   * under its sha256. The same bytes uploaded again for the model are the same snapshot (`created: false`).
   */
  async upload(modelName: string, req: Request, format: DatasetFormat | undefined): Promise<DatasetUploaded> {
    const model = await this.models.requireModel(modelName);
    const maxBytes = this.config.uploadMaxBytes;
    const upload = await openUpload(req, format, maxBytes);
    let stored;
    try {
      stored = await this.store.putStreamContentAddressed(upload.stream, 'datasets', FORMAT_EXT[upload.format], {
        tmpDir: path.join(this.config.workDir, 'uploads'),
        maxBytes,
        contentType: FORMAT_CONTENT_TYPE[upload.format],
      });
    } catch (err) {
      upload.release();
      throw err;
    }
    const { dataset, created } = await this.registry.upsertDataset({
      modelId: model.id,
      sha256: stored.sha256,
      source: upload.origin,
      format: upload.format,
      objectKey: stored.key,
      sizeBytes: stored.sizeBytes,
    });
    if (created) {
      await this.registry.appendAudit({
        actor: this.context.actor,
        action: 'dataset.uploaded',
        entityType: 'dataset',
        entityId: dataset.id,
        details: { model: model.name, sha256: dataset.sha256, sizeBytes: dataset.sizeBytes, format: dataset.format },
      });
    }
    return { id: dataset.id, sha256: dataset.sha256, sizeBytes: dataset.sizeBytes, format: dataset.format, source: `dataset:${dataset.id}`, created };
  }

  async list(modelName: string): Promise<DatasetView[]> {
    const model = await this.models.requireModel(modelName);
    return (await this.registry.listDatasets(model.id)).map(toDatasetView);
  }

  async get(id: string): Promise<DatasetDetail> {
    const dataset = await this.registry.findDataset(id);
    if (!dataset) throw notFound(`dataset ${id} does not exist`);
    const [validationReport, profile] = await Promise.all([
      this.readReport(dataset.validationReportKey, 'validation report'),
      this.readReport(dataset.profileKey, 'profile'),
    ]);
    return { ...toDatasetView(dataset), validationReport, profile };
  }

  /** A stored JSON report, or null when there is none yet or it cannot be read (the row is still worth returning). */
  private async readReport(key: string | null, what: string): Promise<unknown> {
    if (!key) return null;
    try {
      return await this.store.getJson<unknown>(key);
    } catch (err) {
      this.logger.warn(`could not read the ${what} ${key} [requestId=${this.context.requestId}]: ${(err as Error).message}`);
      return null;
    }
  }
}
