import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { DATASET_FORMATS } from './datasets.views';
import type { DatasetFormat } from './datasets.views';

export class UploadQuery {
  @ApiPropertyOptional({ enum: DATASET_FORMATS, description: 'required with application/octet-stream; otherwise taken from the content type or file name' })
  @IsOptional()
  @IsIn(DATASET_FORMATS, { message: 'format must be one of csv, jsonl, parquet' })
  format?: DatasetFormat;
}
