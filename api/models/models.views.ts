/** What the API returns for models, and the OpenAPI classes describing it. */
import { ApiProperty } from '@nestjs/swagger';
import { LifecycleView } from '../lifecycle/lifecycle-client';
import type { ModelSpec } from '../../libs/ml/spec';
import type { Model } from '../../libs/registry';
import { RunSummary } from '../runs/runs.views';
import { VersionView } from '../versions/versions.views';

export class ModelSummary {
  @ApiProperty()
  id!: string;

  @ApiProperty()
  name!: string;

  @ApiProperty()
  owner!: string;

  @ApiProperty({ nullable: true, type: String })
  description!: string | null;

  @ApiProperty({ example: 'multiclass_classification' })
  task!: string;

  @ApiProperty({ description: 'sha256 of the canonical spec' })
  specHash!: string;

  @ApiProperty({ nullable: true, type: Number })
  championVersion!: number | null;

  @ApiProperty()
  createdAt!: Date;

  @ApiProperty()
  updatedAt!: Date;
}

export class ModelView extends ModelSummary {
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'the spec with defaults filled in (schema: see POST /v1/models)' })
  spec!: ModelSpec;
}

export class ModelCounts {
  @ApiProperty()
  versions!: number;

  @ApiProperty()
  runs!: number;

  @ApiProperty()
  datasets!: number;
}

export class ModelDetail extends ModelView {
  @ApiProperty({ type: VersionView, nullable: true })
  champion!: VersionView | null;

  @ApiProperty({ type: RunSummary, nullable: true })
  latestRun!: RunSummary | null;

  @ApiProperty({ type: ModelCounts })
  counts!: ModelCounts;

  @ApiProperty({ type: LifecycleView, nullable: true, description: 'the model lifecycle (stage, cycle, triggers…); null until it is started' })
  lifecycle!: LifecycleView | null;
}

export function toModelSummary(m: Model): ModelSummary {
  return {
    id: m.id,
    name: m.name,
    owner: m.owner,
    description: m.description,
    task: m.spec.task,
    specHash: m.specHash,
    championVersion: m.championVersion,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
  };
}

export function toModelView(m: Model): ModelView {
  return { ...toModelSummary(m), spec: m.spec };
}
