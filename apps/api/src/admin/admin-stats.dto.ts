import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

export class StatsQuery {
  @ApiPropertyOptional({ minimum: 0, maximum: 100, default: 10, description: 'How many of the busiest tenants to list.' })
  @IsOptional()
  @Type(() => Number)
  @Max(100)
  @Min(0)
  @IsInt()
  top?: number;
}
