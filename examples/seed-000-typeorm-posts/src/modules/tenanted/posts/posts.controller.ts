import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post as HttpPost } from '@nestjs/common';
import { CreatePostDto } from './dto/create-post.dto.js';
import { UpdatePostDto } from './dto/update-post.dto.js';
import type { Post } from './entities/post.entity.js';
import { PostsService } from './posts.service.js';

/** Seed 000's posts routes; every one needs the `x-tenant-id` header (Tenantry's guard answers 400 without it). */
@Controller('posts')
export class PostsController {
  constructor(private readonly postsService: PostsService) {}

  @HttpPost()
  create(@Body() createPostDto: CreatePostDto): Promise<Post> {
    return this.postsService.create(createPostDto);
  }

  @Get()
  findAll(): Promise<Post[]> {
    return this.postsService.findAll();
  }

  @Get('published')
  findPublished(): Promise<Post[]> {
    return this.postsService.findPublished();
  }

  @Get(':id')
  findOne(@Param('id', new ParseUUIDPipe()) id: string): Promise<Post> {
    return this.postsService.findOne(id);
  }

  @Patch(':id')
  update(@Param('id', new ParseUUIDPipe()) id: string, @Body() updatePostDto: UpdatePostDto): Promise<Post> {
    return this.postsService.update(id, updatePostDto);
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    return this.postsService.remove(id);
  }
}
