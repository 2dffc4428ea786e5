/** /v1/models: register a model from its spec (JSON or YAML), list and read models, replace a spec. */
import { Body, Controller, Get, HttpCode, Inject, Param, Post, Put, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiConsumes,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiException, badRequest, ErrorResponse } from '../common/api-error';
import { Roles } from '../common/auth/roles.decorator';
import { YAML_CONTENT_TYPES } from '../common/body-parsers';
import { ModelNamePipe } from '../common/validation';
import { ModelsService } from './models.service';
import { ModelDetail, ModelSummary, ModelView } from './models.views';
import { MODEL_SPEC_SCHEMA } from './spec.openapi';

/** The spec document as parsed by the body parsers: an object (JSON) or a string (YAML). */
function specDocument(req: Request, body: unknown): unknown {
  if (body === undefined || (typeof body === 'string' && body.trim() === '')) {
    const type = req.headers['content-type'];
    if (type && !/json|yaml/i.test(type)) {
      throw new ApiException(415, `send the model spec as application/json or application/yaml (got ${type})`);
    }
    throw badRequest('the request has no body: send a model spec as JSON (application/json) or YAML (application/yaml)');
  }
  return body;
}

const specBody = {
  schema: MODEL_SPEC_SCHEMA,
  description: 'a model spec as JSON, or the same document as YAML with Content-Type application/yaml or text/yaml',
};

@ApiTags('models')
@Controller('v1/models')
export class ModelsController {
  constructor(@Inject(ModelsService) private readonly models: ModelsService) {}

  @Post()
  @Roles('data-scientist')
  @ApiOperation({ summary: 'Register a model from its spec' })
  @ApiConsumes('application/json', ...YAML_CONTENT_TYPES)
  @ApiBody(specBody)
  @ApiCreatedResponse({ type: ModelView, description: 'registered; Location names the model' })
  @ApiBadRequestResponse({ type: ErrorResponse, description: 'the spec is invalid; `details` lists every problem with its field path' })
  @ApiConflictResponse({ type: ErrorResponse, description: 'a model with this name exists' })
  async create(@Req() req: Request, @Body() body: unknown, @Res({ passthrough: true }) res: Response): Promise<ModelView> {
    const model = await this.models.create(specDocument(req, body));
    res.location(`/v1/models/${model.name}`);
    return model;
  }

  @Get()
  @Roles('data-scientist', 'reviewer')
  @ApiOperation({ summary: 'List models' })
  @ApiOkResponse({ type: [ModelSummary] })
  list(): Promise<ModelSummary[]> {
    return this.models.list();
  }

  @Get(':name')
  @Roles('data-scientist', 'reviewer')
  @ApiOperation({ summary: 'A model: its spec, champion version, latest run and counts' })
  @ApiOkResponse({ type: ModelDetail })
  @ApiNotFoundResponse({ type: ErrorResponse })
  get(@Param('name', ModelNamePipe) name: string): Promise<ModelDetail> {
    return this.models.get(name);
  }

  @Put(':name/spec')
  @Roles('data-scientist')
  @HttpCode(200)
  @ApiOperation({ summary: "Replace a model's spec (same validation; the name cannot change)" })
  @ApiConsumes('application/json', ...YAML_CONTENT_TYPES)
  @ApiBody(specBody)
  @ApiOkResponse({ type: ModelView })
  @ApiBadRequestResponse({ type: ErrorResponse })
  @ApiNotFoundResponse({ type: ErrorResponse })
  updateSpec(@Param('name', ModelNamePipe) name: string, @Req() req: Request, @Body() body: unknown): Promise<ModelView> {
    return this.models.updateSpec(name, specDocument(req, body));
  }
}
