/** Model versions and their artifacts; `champion` works wherever a version number does. */
import { Controller, Get, Headers, Inject, Logger, Param, Res, StreamableFile } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { ErrorResponse } from '../common/api-error';
import { Roles } from '../common/auth/roles.decorator';
import { RequestContext } from '../common/request-context';
import { ModelNamePipe, VersionRefPipe } from '../common/validation';
import type { VersionRef } from '../common/validation';
import { ARTIFACT_KINDS, etagOf, VersionsService } from './versions.service';
import { VersionView } from './versions.views';

const versionParam = { name: 'version', description: "a version number, or 'champion'", example: 'champion' };

@ApiTags('versions')
@Roles('data-scientist', 'reviewer') // reads only; `service` keys call inference, not this
@Controller('v1/models/:name/versions')
export class VersionsController {
  private readonly logger = new Logger('versions');

  constructor(
    @Inject(VersionsService) private readonly versions: VersionsService,
    @Inject(RequestContext) private readonly context: RequestContext,
  ) {}

  @Get()
  @ApiOperation({ summary: "A model's versions, newest first" })
  @ApiOkResponse({ type: [VersionView] })
  @ApiNotFoundResponse({ type: ErrorResponse })
  list(@Param('name', ModelNamePipe) name: string): Promise<VersionView[]> {
    return this.versions.list(name);
  }

  @Get(':version')
  @ApiOperation({ summary: 'A version: metrics, lineage, artifacts, and whether it is the champion' })
  @ApiParam(versionParam)
  @ApiOkResponse({ type: VersionView })
  @ApiBadRequestResponse({ type: ErrorResponse })
  @ApiNotFoundResponse({ type: ErrorResponse })
  get(@Param('name', ModelNamePipe) name: string, @Param('version', VersionRefPipe) version: VersionRef): Promise<VersionView> {
    return this.versions.get(name, version);
  }

  @Get(':version/artifacts/:kind')
  @ApiOperation({
    summary: "Download one of a version's artifacts (the ONNX model, the evaluation report, …)",
    description:
      'Streams the stored bytes and checks them against the recorded sha256 on the way out (ETag and ' +
      'X-Content-SHA256 carry it); a mismatch breaks the transfer instead of completing it. If-None-Match is honoured.',
  })
  @ApiParam(versionParam)
  @ApiParam({ name: 'kind', enum: ARTIFACT_KINDS })
  @ApiProduces('application/octet-stream', 'application/json')
  @ApiOkResponse({ description: 'the artifact bytes', schema: { type: 'string', format: 'binary' } })
  @ApiBadRequestResponse({ type: ErrorResponse })
  @ApiNotFoundResponse({ type: ErrorResponse })
  async artifact(
    @Param('name', ModelNamePipe) name: string,
    @Param('version', VersionRefPipe) version: VersionRef,
    @Param('kind') kind: string,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<StreamableFile | undefined> {
    const { ref, download } = await this.versions.artifact(name, version, kind, ifNoneMatch);
    const requestId = this.context.requestId;
    res.setHeader('ETag', etagOf(ref.sha256));
    res.setHeader('X-Content-SHA256', ref.sha256);
    // Content-addressed: the bytes behind a key never change, but `champion` may point elsewhere tomorrow.
    res.setHeader('Cache-Control', version === 'champion' ? 'no-cache' : 'private, max-age=31536000, immutable');
    if (!download) {
      res.status(304);
      return undefined;
    }
    return new StreamableFile(download.stream, {
      type: download.contentType,
      length: ref.sizeBytes,
      disposition: `attachment; filename="${download.fileName}"`,
    }).setErrorHandler((err, response) => {
      this.logger.error(`artifact ${ref.key} failed while streaming [requestId=${requestId}]: ${err.message}`);
      if (!response.headersSent) {
        res.removeHeader('Content-Disposition');
        res.status(500).json({ statusCode: 500, error: 'Internal Server Error', message: `the artifact ${ref.kind} could not be read from storage`, requestId });
        return;
      }
      // Headers are gone: cut the connection so the client sees a truncated transfer, never bad bytes as complete.
      if (response.destroy) response.destroy(err);
      else response.end();
    });
  }
}
