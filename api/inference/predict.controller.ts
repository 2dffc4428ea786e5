/**
 * The friendly prediction endpoint: raw feature rows in (`{"records": [{column: value}, ...]}`, the training data's
 * columns), one `{label, probabilities}` or `{value}` per row out. Same routing, logging and metrics as /v2.
 * Errors use the API's usual shape, with the offending columns in `details`.
 */
import { Body, Controller, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProperty,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { RecordsError } from '../../libs/serving/records';
import { ServingError } from '../../libs/serving/replica';
import { ApiException, ErrorResponse } from '../common/api-error';
import { NotAudited } from '../common/audit.interceptor';
import { Roles } from '../common/auth/roles.decorator';
import { ModelNamePipe, VersionRefPipe } from '../common/validation';
import type { VersionRef } from '../common/validation';
import { callInfo, INFERENCE_ROLES, InferenceService } from './inference.service';
import type { PredictResult } from './inference.service';

export class PredictionView implements PredictResult {
  @ApiProperty({ description: 'also in the X-Request-Id header; the prediction log is keyed by it' })
  requestId!: string;

  @ApiProperty({ example: 'seattle-weather' })
  model!: string;

  @ApiProperty({ example: 2, description: 'the version that answered (routing picks it unless the path names one)' })
  version!: number;

  @ApiProperty({
    description: 'one per record, in order: {label, probabilities: {class: p}} for classifiers, {value} for regressors',
    example: [{ label: 'rain', probabilities: { drizzle: 0.01, fog: 0.02, rain: 0.9, snow: 0.01, sun: 0.06 } }],
  })
  predictions!: PredictResult['predictions'];
}

const RECORDS_BODY = {
  description: 'rows of raw feature values, with the same column names as the training data; null = missing value',
  schema: {
    type: 'object',
    required: ['records'],
    properties: { records: { type: 'array', items: { type: 'object', additionalProperties: true } } },
    example: { records: [{ precipitation: 10.9, temp_max: 10.6, temp_min: 2.8, wind: 4.5 }] },
  },
};

function toApiError(err: unknown, res: Response): unknown {
  if (err instanceof RecordsError) return new ApiException(err.status, err.message, err.problems.length ? err.problems.map((p) => ({ ...p })) : undefined);
  if (err instanceof ServingError) {
    if (err.status === 503) res.setHeader('Retry-After', '1');
    return new ApiException(err.status, err.message);
  }
  return err;
}

@ApiTags('inference')
@NotAudited('inference changes nothing; every prediction is in the prediction log instead')
@Controller('v1/models/:name')
export class PredictController {
  constructor(@Inject(InferenceService) private readonly inference: InferenceService) {}

  @Post('predict')
  @HttpCode(200)
  @Roles(...INFERENCE_ROLES)
  @ApiOperation({ summary: 'Predict raw feature rows with the version routing picks' })
  @ApiBody(RECORDS_BODY)
  @ApiOkResponse({ type: PredictionView })
  @ApiBadRequestResponse({ type: ErrorResponse, description: 'unknown or missing columns (named in the message and details), or a bad value' })
  @ApiNotFoundResponse({ type: ErrorResponse, description: 'no such model, or nothing to serve (no champion, no deployment)' })
  @ApiServiceUnavailableResponse({ type: ErrorResponse, description: 'the model is still loading, or the inference queue is full (Retry-After)' })
  async predict(
    @Param('name', ModelNamePipe) name: string,
    @Body() _body: unknown,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PredictionView> {
    return this.run(req, res, name, undefined);
  }

  @Post('versions/:version/predict')
  @HttpCode(200)
  @Roles(...INFERENCE_ROLES)
  @ApiOperation({ summary: "Predict with one version (a number or 'champion'), bypassing routing" })
  @ApiParam({ name: 'version', example: 'champion' })
  @ApiBody(RECORDS_BODY)
  @ApiOkResponse({ type: PredictionView })
  @ApiBadRequestResponse({ type: ErrorResponse })
  @ApiNotFoundResponse({ type: ErrorResponse })
  async predictVersion(
    @Param('name', ModelNamePipe) name: string,
    @Param('version', VersionRefPipe) version: VersionRef,
    @Body() _body: unknown,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PredictionView> {
    return this.run(req, res, name, version);
  }

  private async run(req: Request, res: Response, name: string, version: VersionRef | undefined): Promise<PredictionView> {
    try {
      const result = await this.inference.predict(callInfo(req), name, version, req.body);
      res.setHeader('X-Model-Version', String(result.version));
      return result;
    } catch (err) {
      throw toApiError(err, res);
    }
  }
}
