import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../../common/api-errors.decorator';
import { Page, PageQueryDto } from '../../common/pagination';
import { Access } from '../access.decorator';
import { Caller, CurrentCaller } from '../caller';
import { ApiKeyDto, ApiKeyPageDto, CreateApiKeyDto, CreatedApiKeyDto } from './api-key.dto';
import { ApiKeysService } from './api-keys.service';

@ApiTags('auth')
@Access()
@Controller('api/v1/auth/keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiOperation({ operationId: 'createApiKey', summary: 'Create an API key (admin); the secret is shown only here' })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  @ApiErrors(400)
  create(@Body() dto: CreateApiKeyDto, @CurrentCaller() caller: Caller): Promise<CreatedApiKeyDto> {
    return this.keys.create(dto, caller);
  }

  @Get()
  @ApiOperation({ operationId: 'listApiKeys', summary: 'List API keys (admin), never their secrets' })
  @ApiOkResponse({ type: ApiKeyPageDto })
  @ApiErrors(400)
  list(@Query() query: PageQueryDto): Promise<Page<ApiKeyDto>> {
    return this.keys.list(query);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ operationId: 'revokeApiKey', summary: 'Revoke an API key (admin), at once on every replica' })
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiErrors(400, 404)
  revoke(@Param('id', new ParseUUIDPipe({ version: '4' })) id: string, @CurrentCaller() caller: Caller): Promise<void> {
    return this.keys.revoke(id, caller);
  }
}
