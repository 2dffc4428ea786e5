import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';

export class StartRunBody {
  @ApiPropertyOptional({
    description: "dataset:<id> (an upload), s3://bucket/key, or an http(s):// URL whose host is allowed; defaults to the spec's data.source",
    example: 'dataset:3f2b8c1e-7d4a-4b6f-9e0a-1c2d3e4f5a6b',
  })
  @IsOptional()
  @MinLength(1, { message: 'source cannot be empty; leave it out to use the spec’s data.source' })
  @MaxLength(2048, { message: 'source must be at most 2048 characters' })
  @IsString({ message: 'source must be a string' }) // nearest the property: checked first
  source?: string;
}

export class ListQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 100 })
  @IsOptional()
  @Type(() => Number)
  // class-validator checks the decorator nearest the property first: the type, then the bounds.
  @Min(1, { message: 'limit must be at least 1' })
  @Max(500, { message: 'limit must be at most 500' })
  @IsInt({ message: 'limit must be an integer' })
  limit?: number;
}
