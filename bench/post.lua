-- wrk script for the GraphQL rows of bench/run.sh: every request is a POST with a JSON body.
--
-- The body comes from WRK_BODY (the JSON text itself) or, if that is unset or empty, from
-- the file named by WRK_BODY_FILE. Other headers (Authorization) are passed to wrk with -H
-- and kept; this script only adds Content-Type.
--
--   WRK_BODY_FILE=/tmp/q.json wrk -t2 -c32 -d10s --latency -s bench/post.lua \
--     -H 'Authorization: Bearer os_live_...' http://127.0.0.1:8090/graphql

local body = os.getenv("WRK_BODY")
if body == nil or body == "" then
  local path = os.getenv("WRK_BODY_FILE")
  if path == nil or path == "" then
    error("post.lua: set WRK_BODY or WRK_BODY_FILE")
  end
  local f = assert(io.open(path, "rb"))
  body = f:read("*a")
  f:close()
end

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
