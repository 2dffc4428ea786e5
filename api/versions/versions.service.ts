/** Registered model versions: metrics, lineage, champion flag, and verified artifact downloads. */
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { ArtifactStore } from '../../libs/artifacts';
import { RegistryService } from '../../libs/registry';
import type { ArtifactRef, Model, ModelVersion } from '../../libs/registry';
import { badRequest, notFound } from '../common/api-error';
import type { VersionRef } from '../common/validation';
import { ModelsService } from '../models/models.service';
import { toVersionView } from './versions.views';
import type { VersionView } from './versions.views';

export const ARTIFACT_KINDS: ArtifactRef['kind'][] = ['model', 'evaluation_report', 'profile', 'validation_report', 'split', 'dataset'];

export interface ArtifactDownload {
  stream: Readable;
  ref: ArtifactRef;
  contentType: string;
  fileName: string;
}

@Injectable()
export class VersionsService {
  constructor(
    @Inject(RegistryService) private readonly registry: RegistryService,
    @Inject(ArtifactStore) private readonly store: ArtifactStore,
    @Inject(ModelsService) private readonly models: ModelsService,
  ) {}

  async list(modelName: string): Promise<VersionView[]> {
    const model = await this.models.requireModel(modelName);
    return (await this.registry.listVersions(model.id)).map((v) => toVersionView(model.name, model.championVersion, v));
  }

  async get(modelName: string, ref: VersionRef): Promise<VersionView> {
    const { model, version } = await this.resolve(modelName, ref);
    return toVersionView(model.name, model.championVersion, version);
  }

  /** The artifact's metadata and, unless the caller already has these bytes, a stream that verifies its sha256. */
  async artifact(modelName: string, ref: VersionRef, kind: string, ifNoneMatch?: string): Promise<{ ref: ArtifactRef; download?: ArtifactDownload }> {
    if (!(ARTIFACT_KINDS as string[]).includes(kind)) {
      throw badRequest(`'${kind}' is not an artifact kind: use one of ${ARTIFACT_KINDS.join(', ')}`, [{ path: 'kind', message: 'unknown artifact kind' }]);
    }
    const { model, version } = await this.resolve(modelName, ref);
    const artifact = version.artifacts.find((a) => a.kind === kind);
    if (!artifact) {
      const kinds = version.artifacts.map((a) => a.kind).join(', ') || 'none';
      throw notFound(`version ${version.version} of '${model.name}' has no ${kind} artifact (it has: ${kinds})`);
    }
    if (ifNoneMatch && etagMatches(ifNoneMatch, artifact.sha256)) return { ref: artifact };
    const stream = await this.store.openVerified(artifact.key, artifact.sha256);
    const ext = kind === 'model' ? '.onnx' : path.extname(artifact.key) || (kind === 'evaluation_report' ? '.json' : '');
    return {
      ref: artifact,
      download: {
        stream,
        ref: artifact,
        contentType: kind === 'model' ? 'application/octet-stream' : kind === 'evaluation_report' ? 'application/json' : artifact.contentType,
        fileName: kind === 'model' ? `${model.name}-v${version.version}.onnx` : `${model.name}-v${version.version}-${kind}${ext}`,
      },
    };
  }

  private async resolve(modelName: string, ref: VersionRef): Promise<{ model: Model; version: ModelVersion }> {
    const model = await this.models.requireModel(modelName);
    if (ref === 'champion' && model.championVersion === null) {
      throw notFound(`model '${model.name}' has no champion version yet`);
    }
    const number = ref === 'champion' ? model.championVersion! : ref;
    const version = await this.registry.findVersion(model.id, number);
    if (!version) throw notFound(`model '${model.name}' has no version ${number}`);
    return { model, version };
  }
}

export function etagOf(sha256: string): string {
  return `"${sha256}"`;
}

function etagMatches(header: string, sha256: string): boolean {
  return header.split(',').some((tag) => {
    const t = tag.trim().replace(/^W\//, '');
    return t === '*' || t === etagOf(sha256);
  });
}
