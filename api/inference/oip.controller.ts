/**
 * The Open Inference Protocol v2 REST endpoints (KServe v2 / Triton HTTP): server and model health, model
 * metadata, and inference, with or without an explicit version. Errors answer `{"error": "..."}` (OipErrorFilter).
 */
import { Controller, Get, HttpCode, Inject, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { PipeTransform } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import { OipError, modelMetadata } from '../../libs/serving/oip';
import { NotAudited } from '../common/audit.interceptor';
import { Public, Roles } from '../common/auth/roles.decorator';
import { MODEL_NAME_PATTERN } from '../common/validation';
import { callInfo, INFERENCE_ROLES, InferenceService, readInferBody } from './inference.service';
import { OipErrorFilter } from './oip-error.filter';

class OipModelNamePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!MODEL_NAME_PATTERN.test(value)) throw new OipError(`'${value.slice(0, 80)}' is not a model name: 1-63 lowercase letters, digits and dashes`);
    return value;
  }
}

class OipVersionPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    if (!/^[1-9][0-9]{0,8}$/.test(value)) throw new OipError(`'${value.slice(0, 80)}' is not a model version: use a positive integer`);
    return Number(value);
  }
}

const INFER_BODY = {
  description:
    'An OIP inference request: `inputs` = one tensor per feature column, shape [N, 1], FP32 for numeric and BYTES ' +
    'for categorical features (null = missing value); optional `id` (echoed), `outputs` (which to return) and ' +
    '`parameters.binary_data_output`. The binary tensor extension (Inference-Header-Content-Length) is accepted too.',
  schema: {
    type: 'object',
    required: ['inputs'],
    properties: {
      id: { type: 'string' },
      inputs: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'shape', 'datatype'],
          properties: {
            name: { type: 'string' },
            shape: { type: 'array', items: { type: 'integer' } },
            datatype: { type: 'string', enum: ['FP32', 'BYTES'] },
            data: { type: 'array', items: {} },
            parameters: { type: 'object' },
          },
        },
      },
      outputs: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, parameters: { type: 'object' } } } },
      parameters: { type: 'object' },
    },
    example: {
      id: 'req-1',
      inputs: [
        { name: 'precipitation', shape: [2, 1], datatype: 'FP32', data: [0, 10.9] },
        { name: 'temp_max', shape: [2, 1], datatype: 'FP32', data: [12.8, 10.6] },
        { name: 'temp_min', shape: [2, 1], datatype: 'FP32', data: [5, 2.8] },
        { name: 'wind', shape: [2, 1], datatype: 'FP32', data: [4.7, 4.5] },
      ],
    },
  },
};

@ApiTags('inference (Open Inference Protocol v2)')
@NotAudited('inference changes nothing; every prediction is in the prediction log instead')
@Controller('v2')
@UseFilters(OipErrorFilter)
export class OipController {
  constructor(@Inject(InferenceService) private readonly inference: InferenceService) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'Server metadata' })
  server(): { name: string; version: string; extensions: string[] } {
    return { name: 'mlcycle', version: '0.1.0', extensions: ['binary_tensor_data'] };
  }

  @Get('health/live')
  @Public()
  @ApiOperation({ summary: 'The server process answers (never touches the inference threads or the database)' })
  @ApiOkResponse({ schema: { example: { live: true } } })
  live(): { live: boolean } {
    return { live: true };
  }

  @Get('health/ready')
  @Public()
  @ApiOperation({ summary: 'Ready for inference: routing read and every model past its first load (503 otherwise)' })
  @ApiOkResponse({ schema: { example: { ready: true } } })
  ready(@Res({ passthrough: true }) res: Response): { ready: boolean } {
    const ready = this.inference.enabled && this.inference.replicaRef.isReady();
    if (!ready) res.status(503);
    return { ready };
  }

  @Get('models/:name')
  @Roles(...INFERENCE_ROLES)
  @ApiOperation({ summary: 'Model metadata: versions served, platform, inputs and outputs (of the version with the most traffic)' })
  async metadata(@Param('name', OipModelNamePipe) name: string): Promise<Record<string, unknown>> {
    const view = await this.inference.replicaRef.view(name);
    if (!view) throw new OipError(`model '${name}' is not served here: it does not exist, or has no champion or deployment yet`, 404);
    if (!view.primary) throw new OipError(`model '${name}' has no version loaded yet; retry shortly`, 503);
    return modelMetadata(name, view.versions, view.primary.signature);
  }

  @Get('models/:name/versions/:version')
  @Roles(...INFERENCE_ROLES)
  @ApiOperation({ summary: 'Metadata of one version (loaded on demand)' })
  async versionMetadata(@Param('name', OipModelNamePipe) name: string, @Param('version', OipVersionPipe) version: number): Promise<Record<string, unknown>> {
    const view = await this.inference.replicaRef.view(name, version);
    if (!view) throw new OipError(`model '${name}' does not exist`, 404);
    return modelMetadata(name, [version], await this.inference.replicaRef.versionSignature(name, version));
  }

  @Get('models/:name/ready')
  @Roles(...INFERENCE_ROLES)
  @ApiOperation({ summary: 'The model routes by its latest deployment with every version loaded (503 otherwise)' })
  async modelReady(@Param('name', OipModelNamePipe) name: string, @Res({ passthrough: true }) res: Response): Promise<{ name: string; ready: boolean }> {
    const view = await this.inference.replicaRef.view(name);
    if (!view) throw new OipError(`model '${name}' is not served here`, 404);
    if (!view.ready) res.status(503);
    return { name, ready: view.ready };
  }

  @Get('models/:name/versions/:version/ready')
  @Roles(...INFERENCE_ROLES)
  @ApiOperation({ summary: 'The version is loaded on this replica (503 otherwise; does not load it)' })
  async versionReady(
    @Param('name', OipModelNamePipe) name: string,
    @Param('version', OipVersionPipe) version: number,
    @Res({ passthrough: true }) res: Response,
  ): Promise<{ name: string; version: string; ready: boolean }> {
    const view = await this.inference.replicaRef.view(name);
    const ready = Boolean(view?.versions.includes(version));
    if (!ready) res.status(503);
    return { name, version: String(version), ready };
  }

  @Post('models/:name/infer')
  @HttpCode(200)
  @Roles(...INFERENCE_ROLES)
  @ApiOperation({ summary: 'Inference on the version routing picks (weighted, or sticky by the deployment’s header)' })
  @ApiConsumes('application/json', 'application/octet-stream')
  @ApiProduces('application/json', 'application/octet-stream')
  @ApiBody(INFER_BODY)
  async infer(@Param('name', OipModelNamePipe) name: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const started = { at: new Date(), t0: performance.now() };
    send(res, await this.inference.inferV2(callInfo(req), name, undefined, await readInferBody(req), started));
  }

  @Post('models/:name/versions/:version/infer')
  @HttpCode(200)
  @Roles(...INFERENCE_ROLES)
  @ApiOperation({ summary: 'Inference on an explicit version (bypasses routing; loaded on demand)' })
  @ApiConsumes('application/json', 'application/octet-stream')
  @ApiProduces('application/json', 'application/octet-stream')
  @ApiParam({ name: 'version', example: 1 })
  @ApiBody(INFER_BODY)
  async inferVersion(
    @Param('name', OipModelNamePipe) name: string,
    @Param('version', OipVersionPipe) version: number,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const started = { at: new Date(), t0: performance.now() };
    send(res, await this.inference.inferV2(callInfo(req), name, version, await readInferBody(req), started));
  }
}

export function send(res: ServerResponse, encoded: { body: Buffer; contentType: string; headerLength?: number }): void {
  res.statusCode = 200;
  res.setHeader('Content-Type', encoded.contentType);
  if (encoded.headerLength !== undefined) res.setHeader('Inference-Header-Content-Length', String(encoded.headerLength));
  res.setHeader('Content-Length', String(encoded.body.length));
  res.end(encoded.body);
}
