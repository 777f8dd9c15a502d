import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { CreatePostDto } from './dto/create-post.dto.js';
import type { UpdatePostDto } from './dto/update-post.dto.js';
import { Post } from './entities/post.entity.js';

/**
 * Seed 000's posts service. Where the seed injects a request-scoped `CONNECTION` and calls
 * `connection.getRepository(Post)`, this is a singleton with `@InjectRepository(Post)`: the
 * repository runs each statement in the tenant of the request (the `x-tenant-id` header).
 */
@Injectable()
export class PostsService {
  constructor(@InjectRepository(Post) private readonly postRepository: Repository<Post>) {}

  async create(createPostDto: CreatePostDto): Promise<Post> {
    const post = this.postRepository.create(createPostDto);
    return this.postRepository.save(post);
  }

  async findAll(): Promise<Post[]> {
    return this.postRepository.find({ order: { createdAt: 'DESC' } });
  }

  async findPublished(): Promise<Post[]> {
    return this.postRepository.find({ where: { published: true }, order: { createdAt: 'DESC' } });
  }

  async findOne(id: string): Promise<Post> {
    const post = await this.postRepository.findOne({ where: { id } });
    if (!post) {
      throw new NotFoundException(`Post with ID ${id} not found`);
    }
    return post;
  }

  /** Locks the row for the read-merge-write, in one transaction of the request's tenant. */
  async update(id: string, updatePostDto: UpdatePostDto): Promise<Post> {
    return this.postRepository.manager.transaction(async (em) => {
      const post = await em.findOne(Post, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!post) {
        throw new NotFoundException(`Post with ID ${id} not found`);
      }
      em.merge(Post, post, updatePostDto);
      return em.save(post);
    });
  }

  async remove(id: string): Promise<void> {
    const { affected } = await this.postRepository.delete({ id });
    if (!affected) {
      throw new NotFoundException(`Post with ID ${id} not found`);
    }
  }
}
