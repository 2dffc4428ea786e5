/** Uploading data set snapshots for a model, and reading them back. */
import { Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiTags,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ErrorResponse } from '../common/api-error';
import { Roles } from '../common/auth/roles.decorator';
import { ModelNamePipe, UuidPipe } from '../common/validation';
import { UploadQuery } from './datasets.dto';
import { DatasetsService } from './datasets.service';
import { DatasetDetail, DatasetUploaded, DatasetView } from './datasets.views';
import { UPLOAD_MEDIA_TYPES } from './upload';

@ApiTags('datasets')
@Controller()
export class DatasetsController {
  constructor(@Inject(DatasetsService) private readonly datasets: DatasetsService) {}

  @Post('v1/models/:name/datasets')
  @Roles('data-scientist')
  @ApiOperation({
    summary: 'Upload a data set (streamed; CSV, JSON Lines or Parquet)',
    description:
      'The body is the file itself, or multipart/form-data with one `file` field. It is streamed to storage and never ' +
      'held in memory; bodies over MLCYCLE_UPLOAD_MAX_BYTES are refused with 413 and nothing is stored. The same bytes ' +
      'uploaded again return the existing snapshot with 200.',
  })
  @ApiConsumes(...UPLOAD_MEDIA_TYPES)
  @ApiBody({ schema: { type: 'string', format: 'binary' } })
  @ApiCreatedResponse({ type: DatasetUploaded, description: 'stored as a new snapshot' })
  @ApiOkResponse({ type: DatasetUploaded, description: 'these bytes were uploaded before: the existing snapshot' })
  @ApiBadRequestResponse({ type: ErrorResponse, description: 'empty body or malformed multipart' })
  @ApiNotFoundResponse({ type: ErrorResponse })
  @ApiPayloadTooLargeResponse({ type: ErrorResponse })
  @ApiUnsupportedMediaTypeResponse({ type: ErrorResponse })
  async upload(
    @Param('name', ModelNamePipe) name: string,
    @Query() query: UploadQuery,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<DatasetUploaded> {
    const result = await this.datasets.upload(name, req, query.format);
    res.status(result.created ? 201 : 200).location(`/v1/datasets/${result.id}`);
    return result;
  }

  @Get('v1/models/:name/datasets')
  @Roles('data-scientist', 'reviewer')
  @ApiOperation({ summary: "A model's data set snapshots, newest first" })
  @ApiOkResponse({ type: [DatasetView] })
  @ApiNotFoundResponse({ type: ErrorResponse })
  list(@Param('name', ModelNamePipe) name: string): Promise<DatasetView[]> {
    return this.datasets.list(name);
  }

  @Get('v1/datasets/:id')
  @Roles('data-scientist', 'reviewer')
  @ApiOperation({ summary: 'A data set snapshot with its schema, row count, validation report and profile' })
  @ApiOkResponse({ type: DatasetDetail })
  @ApiBadRequestResponse({ type: ErrorResponse })
  @ApiNotFoundResponse({ type: ErrorResponse })
  get(@Param('id', new UuidPipe('dataset id')) id: string): Promise<DatasetDetail> {
    return this.datasets.get(id);
  }
}
