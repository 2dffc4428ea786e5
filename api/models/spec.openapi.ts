/**
 * The model spec as an OpenAPI schema, for the docs only: the authority is the zod schema in libs/ml/spec.ts,
 * which the API runs on every spec it receives. Keep the two in step when the spec changes.
 */
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { CLASSIFICATION_METRICS, REGRESSION_METRICS, TASKS } from '../../libs/ml/spec';

const param: SchemaObject = { oneOf: [{ type: 'number' }, { type: 'string' }, { type: 'boolean' }] };

export const MODEL_SPEC_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['name', 'task', 'target', 'trainer', 'evaluation'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$', example: 'penguins' },
    description: { type: 'string', maxLength: 2000 },
    task: { type: 'string', enum: [...TASKS] },
    target: { type: 'string', description: 'the column to predict', example: 'species' },
    features: {
      type: 'object',
      additionalProperties: false,
      description: 'explicit `include`, or every column but the target and `exclude`',
      properties: { include: { type: 'array', items: { type: 'string' } }, exclude: { type: 'array', items: { type: 'string' } } },
    },
    data: {
      type: 'object',
      additionalProperties: false,
      properties: {
        source: { type: 'string', description: 's3://bucket/key, an allowed http(s):// URL, or dataset:<id>; the default source for runs' },
        format: { type: 'string', enum: ['csv', 'jsonl', 'parquet'] },
      },
    },
    trainer: {
      type: 'object',
      required: ['name'],
      additionalProperties: false,
      properties: {
        name: { type: 'string', example: 'gbdt', description: 'gbdt, logistic_regression, ridge or an external trainer registered on the worker' },
        params: { type: 'object', additionalProperties: param },
        grid: { type: 'array', maxItems: 32, items: { type: 'object', additionalProperties: param }, description: 'candidates trained in parallel' },
      },
    },
    split: {
      type: 'object',
      additionalProperties: false,
      description: 'train + validation + test must add up to 1',
      properties: {
        train: { type: 'number', default: 0.7 },
        validation: { type: 'number', default: 0.15 },
        test: { type: 'number', default: 0.15 },
        seed: { type: 'integer', default: 42 },
        stratify: { type: 'boolean', default: true },
      },
    },
    validation: {
      type: 'object',
      additionalProperties: false,
      properties: {
        minRows: { type: 'integer', default: 30 },
        maxMissingRate: { type: 'number', default: 0.5 },
        maxClasses: { type: 'integer', default: 50 },
        allowSchemaChange: { type: 'boolean', default: false },
      },
    },
    evaluation: {
      type: 'object',
      required: ['primaryMetric'],
      additionalProperties: false,
      properties: {
        primaryMetric: { type: 'string', enum: [...CLASSIFICATION_METRICS, ...REGRESSION_METRICS] },
        minimum: { type: 'number' },
        mustBeatBaseline: { type: 'boolean', default: true },
        championMargin: { type: 'number', default: 0 },
      },
    },
  },
  example: {
    name: 'penguins',
    task: 'multiclass_classification',
    target: 'species',
    features: { exclude: ['island'] },
    data: { format: 'csv' },
    trainer: { name: 'gbdt', params: { max_iter: 100 } },
    evaluation: { primaryMetric: 'balanced_accuracy' },
  },
};
