# 1. Create Tenant A
curl -X POST http://localhost:3000/tenants \
  -H "Content-Type: application/json" \
  -d '{"name": "Tenant A", "subdomain": "tenant-a"}'
# Response: {"id": "uuid-a", ...}

# 2. Create Tenant B
curl -X POST http://localhost:3000/tenants \
  -H "Content-Type: application/json" \
  -d '{"name": "Tenant B", "subdomain": "tenant-b"}'
# Response: {"id": "uuid-b", ...}

# 3. Create post for Tenant A
curl -X POST http://localhost:3000/posts \
  -H "Content-Type: application/json" \
  -H "x-tenant-id: uuid-a" \
  -d '{"title": "Tenant A Post", "content": "A content", "published": true}'

# 4. Create post for Tenant B
curl -X POST http://localhost:3000/posts \
  -H "Content-Type: application/json" \
  -H "x-tenant-id: uuid-b" \
  -d '{"title": "Tenant B Post", "content": "B content", "published": true}'

# 5. Get Tenant A posts (only sees their own)
curl http://localhost:3000/posts -H "x-tenant-id: uuid-a"
# Returns: [{"title": "Tenant A Post", ...}]

# 6. Get Tenant B posts (only sees their own)
curl http://localhost:3000/posts -H "x-tenant-id: uuid-b"
# Returns: [{"title": "Tenant B Post", ...}]
