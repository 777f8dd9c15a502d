-- Published posts, newest first: the demo's "front page" query.
create index posts_published_created_at on posts (created_at desc) where published;

-- down
drop index posts_published_created_at;
