import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, IsNumber, IsOptional, IsString, Max, MaxLength, Min, MinLength, ValidateNested } from 'class-validator';

export const MAX_FEEDBACK_ITEMS = 10_000;

export class FeedbackItem {
  @ApiProperty({ example: '7f1c0a8e-2f5b-4d7e-9b8a-0c1d2e3f4a5b', description: "the prediction's request ID (the X-Request-Id header or `requestId` of its answer)" })
  @MaxLength(200, { message: 'requestId must be at most 200 characters' })
  @MinLength(1, { message: 'requestId must not be empty' })
  @IsString({ message: 'requestId must be a string' })
  requestId!: string;

  @ApiPropertyOptional({ example: 'seattle', description: 'classification: the true class (numbers are taken as their text, 1 → "1")' })
  @IsOptional()
  // A numeric 0/1 target is still a class label; training turns it into text the same way (targetLabels).
  @Transform(({ value }) => (typeof value === 'number' || typeof value === 'boolean' ? String(value) : value))
  @MaxLength(200, { message: 'label must be at most 200 characters' })
  @IsString({ message: 'label must be a string (the class label)' })
  label?: string;

  @ApiPropertyOptional({ example: 21.5, description: 'regression: the true value' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'value must be a finite number' })
  value?: number;
}

export class FeedbackBody {
  @ApiProperty({ type: [FeedbackItem], description: `1 to ${MAX_FEEDBACK_ITEMS} labels; the first answer for a request ID stands` })
  @ValidateNested({ each: true })
  @Type(() => FeedbackItem)
  @ArrayMaxSize(MAX_FEEDBACK_ITEMS, { message: `items must hold at most ${MAX_FEEDBACK_ITEMS} entries; send several batches` })
  @ArrayMinSize(1, { message: 'items must hold at least one entry' })
  @IsArray({ message: 'items must be an array of { requestId, label | value }' })
  items!: FeedbackItem[];
}

export class LimitQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @Min(1, { message: 'limit must be at least 1' })
  @Max(500, { message: 'limit must be at most 500' })
  @IsInt({ message: 'limit must be an integer' })
  limit?: number;
}
