import { describeSeed000PostsApi } from '../../example-http/test-kit/posts-e2e.js';
import { createPostsApp } from '../dist/app.js';

await describeSeed000PostsApi('typeorm-posts example (real HTTP)', {
  createApp: createPostsApp,
  schemaVersion: 'CreatePosts1700000000000',
});
