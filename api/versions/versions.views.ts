/** What the API returns for model versions, and the OpenAPI classes describing it. */
import { ApiProperty } from '@nestjs/swagger';
import type { ArtifactRef, Lineage, ModelVersion } from '../../libs/registry';

export class ArtifactView {
  @ApiProperty({ enum: ['model', 'evaluation_report', 'profile', 'validation_report', 'split', 'dataset'] })
  kind!: ArtifactRef['kind'];

  @ApiProperty()
  sha256!: string;

  @ApiProperty()
  sizeBytes!: number;

  @ApiProperty()
  contentType!: string;

  @ApiProperty({ description: 'object key in the artifact store' })
  key!: string;

  @ApiProperty({ example: '/v1/models/penguins/versions/3/artifacts/model' })
  href!: string;
}

export class VersionView {
  @ApiProperty()
  id!: string;

  @ApiProperty()
  model!: string;

  @ApiProperty()
  version!: number;

  @ApiProperty()
  status!: string;

  @ApiProperty({ description: "whether this version is the model's champion" })
  isChampion!: boolean;

  @ApiProperty()
  runId!: string;

  @ApiProperty({ type: 'object', additionalProperties: true })
  metrics!: Record<string, unknown>;

  @ApiProperty({ type: 'object', additionalProperties: true, description: 'data snapshot, split, spec, trainer, code and workflow that produced it' })
  lineage!: Lineage;

  @ApiProperty({ type: [ArtifactView] })
  artifacts!: ArtifactView[];

  @ApiProperty()
  createdAt!: Date;
}

export function toVersionView(modelName: string, championVersion: number | null, v: ModelVersion): VersionView {
  return {
    id: v.id,
    model: modelName,
    version: v.version,
    status: v.status,
    isChampion: championVersion === v.version,
    runId: v.runId,
    metrics: v.metrics,
    lineage: v.lineage,
    artifacts: v.artifacts.map((a) => ({
      kind: a.kind,
      sha256: a.sha256,
      sizeBytes: a.sizeBytes,
      contentType: a.contentType,
      key: a.key,
      href: `/v1/models/${modelName}/versions/${v.version}/artifacts/${a.kind}`,
    })),
    createdAt: v.createdAt,
  };
}
