import { describeSeed000PostsApi } from '../../example-http/test-kit/posts-e2e.js';
import { createPostsApp } from '../dist/app.js';

await describeSeed000PostsApi('drizzle-posts example (real HTTP)', { createApp: createPostsApp, schemaVersion: '0000_create_posts' });
