import { BadRequestException, Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HttpErrorCodes } from '@tenantry/nestjs';
import { TenantAuthGuard } from '../auth/tenant-auth.guard.js';
import { CreatePostDto, ListPostsQuery, PostParams, UpdatePostDto } from './posts.dto.js';
import { PostsService, type Post as PostJson } from './posts.service.js';
import { PostDto } from '../openapi/responses.dto.js';
import { ApiErrors, BODY_ERRORS, PARAM_ERRORS, SERVICE_ERRORS, TENANT_ERRORS, TENANT_TOKEN_ERRORS } from '../openapi/api-errors.js';

/** Seed 000's posts, per tenant. The tenant comes from the resolvers; the token must be that tenant's. */
@ApiTags('tenant: posts')
@ApiBearerAuth('tenant')
@UseGuards(TenantAuthGuard)
@Controller('posts')
export class PostsController {
  readonly #posts: PostsService;

  constructor(@Inject(PostsService) posts: PostsService) {
    this.#posts = posts;
  }

  @Post()
  @ApiOperation({ summary: 'Create a post in the tenant.' })
  @ApiCreatedResponse({ type: PostDto })
  @ApiErrors(TENANT_ERRORS, TENANT_TOKEN_ERRORS, BODY_ERRORS, SERVICE_ERRORS)
  create(@Body() body: CreatePostDto): Promise<PostJson> {
    return this.#posts.create(body);
  }

  @Get()
  @ApiOperation({ summary: "The tenant's posts, newest first." })
  @ApiOkResponse({ type: [PostDto] })
  @ApiErrors(TENANT_ERRORS, TENANT_TOKEN_ERRORS, PARAM_ERRORS, SERVICE_ERRORS)
  list(@Query() query: ListPostsQuery): Promise<PostJson[]> {
    return this.#posts.list({ publishedOnly: false, limit: query.limit ?? 100, offset: query.offset ?? 0 });
  }

  @Get('published')
  @ApiOperation({ summary: "The tenant's published posts, newest first." })
  @ApiOkResponse({ type: [PostDto] })
  @ApiErrors(TENANT_ERRORS, TENANT_TOKEN_ERRORS, PARAM_ERRORS, SERVICE_ERRORS)
  published(@Query() query: ListPostsQuery): Promise<PostJson[]> {
    return this.#posts.list({ publishedOnly: true, limit: query.limit ?? 100, offset: query.offset ?? 0 });
  }

  @Get(':id')
  @ApiOperation({ summary: 'One post.' })
  @ApiOkResponse({ type: PostDto })
  @ApiErrors(TENANT_ERRORS, TENANT_TOKEN_ERRORS, PARAM_ERRORS, 'NOT_FOUND', SERVICE_ERRORS)
  get(@Param() params: PostParams): Promise<PostJson> {
    return this.#posts.get(params.id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change title, content and/or published.' })
  @ApiOkResponse({ type: PostDto })
  @ApiErrors(TENANT_ERRORS, TENANT_TOKEN_ERRORS, PARAM_ERRORS, BODY_ERRORS, 'NOT_FOUND', SERVICE_ERRORS)
  update(@Param() params: PostParams, @Body() body: UpdatePostDto): Promise<PostJson> {
    if (body.title === undefined && body.content === undefined && body.published === undefined) {
      throw new BadRequestException({
        code: HttpErrorCodes.VALIDATION_FAILED,
        message: 'give title, content and/or published',
        errors: [],
      });
    }
    return this.#posts.update(params.id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a post.' })
  @ApiNoContentResponse({ description: 'Deleted.' })
  @ApiErrors(TENANT_ERRORS, TENANT_TOKEN_ERRORS, PARAM_ERRORS, 'NOT_FOUND', SERVICE_ERRORS)
  async remove(@Param() params: PostParams): Promise<void> {
    await this.#posts.remove(params.id);
  }
}
