/** Registering models and reading them back; also the one `requireModel` lookup the other features use. */
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../../libs/config';
import type { AppConfig } from '../../libs/config';
import { parseModelSpec, specHash, SpecValidationError } from '../../libs/ml/spec';
import { DatasetSnapshot, ModelVersion, RegistryService, TrainingRun } from '../../libs/registry';
import type { Model } from '../../libs/registry';
import { notFound } from '../common/api-error';
import { LifecycleClient } from '../lifecycle/lifecycle-client';
import { RequestContext } from '../common/request-context';
import { toRunSummary } from '../runs/runs.views';
import { toVersionView } from '../versions/versions.views';
import { toModelSummary, toModelView } from './models.views';
import type { ModelDetail, ModelSummary, ModelView } from './models.views';

@Injectable()
export class ModelsService {
  constructor(
    @Inject(RegistryService) private readonly registry: RegistryService,
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(RequestContext) private readonly context: RequestContext,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LifecycleClient) private readonly lifecycle: LifecycleClient,
  ) {}

  /** The model, or a 404 that names it. */
  async requireModel(name: string): Promise<Model> {
    const model = await this.registry.findModelByName(name);
    if (!model) throw notFound(`model '${name}' does not exist; register it with POST /v1/models`);
    return model;
  }

  async create(document: unknown): Promise<ModelView> {
    const spec = parseModelSpec(document);
    const model = await this.registry.createModel({
      name: spec.name,
      owner: this.context.actor,
      description: spec.description,
      spec,
      specHash: specHash(spec),
    });
    return toModelView(model);
  }

  async updateSpec(name: string, document: unknown): Promise<ModelView> {
    await this.requireModel(name);
    const spec = parseModelSpec(document);
    if (spec.name !== name) {
      throw new SpecValidationError([{ path: 'name', message: `must be '${name}' (the model being updated); a model cannot be renamed` }]);
    }
    return toModelView(await this.registry.updateModelSpec(name, spec, specHash(spec), this.context.actor));
  }

  async list(): Promise<ModelSummary[]> {
    return (await this.registry.listModels()).map(toModelSummary);
  }

  async get(name: string): Promise<ModelDetail> {
    const model = await this.requireModel(name);
    const [champion, latestRuns, versions, runs, datasets, lifecycle] = await Promise.all([
      this.registry.findChampion(model.id),
      this.registry.listRuns(model.id, 1),
      this.dataSource.getRepository(ModelVersion).countBy({ modelId: model.id }),
      this.dataSource.getRepository(TrainingRun).countBy({ modelId: model.id }),
      this.dataSource.getRepository(DatasetSnapshot).countBy({ modelId: model.id }),
      this.lifecycle.viewOrUnknown(model.name),
    ]);
    return {
      ...toModelView(model),
      champion: champion ? toVersionView(model.name, model.championVersion, champion) : null,
      latestRun: latestRuns[0] ? toRunSummary(this.config, latestRuns[0]) : null,
      counts: { versions, runs, datasets },
      lifecycle,
    };
  }
}
