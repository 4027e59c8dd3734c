-- wrk script for bench_http: every request subscribes a new address from a new visitor.
--
-- Each wrk thread first GETs the form for its fields (and a cookie, should the page set
-- one); until that answer arrives the thread's connections keep asking for the form (at most
-- one round of GETs per connection). Then every request POSTs a fresh address with its own
-- X-Forwarded-For, so the per-address rate limit (5 a minute) never applies. Any answer
-- outside 2xx is counted: a 400, 422 or 429 means the bench is wrong, not slow.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

local path, cookie, fields, first
-- Globals, so that done() can read them from each thread.
posted, failed = 0, 0

-- The optional argument numbers the first visitor, for another run against the same server.
function init(args)
  path = wrk.path
  first = tonumber(args[1]) or 0
end

local function encode(text)
  return (text:gsub("[^%w%-%._~]", function(char)
    return string.format("%%%02X", string.byte(char))
  end))
end

local function read_form(body)
  local parts, box = {}, false
  for tag in body:gmatch("<input[^>]*>") do
    local kind = tag:match('type="([^"]*)"')
    local name = tag:match('name="([^"]*)"')
    local value = tag:match('value="([^"]*)"') or "on"
    -- The hidden fields (a CSRF token, if the form has one) and the first topic.
    if name and (kind == "hidden" or (kind == "checkbox" and not box)) then
      box = box or kind == "checkbox"
      table.insert(parts, encode(name) .. "=" .. encode(value))
    end
  end
  return table.concat(parts, "&")
end

local function form_cookie(headers)
  for name, value in pairs(headers) do
    if name:lower() == "set-cookie" then
      return value:match("^([^;]+)")
    end
  end
end

function request()
  if fields == nil then
    return wrk.format("GET", path)
  end
  posted = posted + 1
  local n = first + posted
  local address = string.format("bench-%d-%d@example.org", thread_id, n)
  local visitor = string.format(
    "10.%d.%d.%d", (thread_id + math.floor(n / 65536)) % 256, math.floor(n / 256) % 256, n % 256
  )
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Forwarded-For"] = visitor,
  }
  if cookie then
    headers["Cookie"] = cookie
  end
  local body = fields .. "&email=" .. encode(address) .. "&name=Bench+Reader"
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    failed = failed + 1
  elseif fields == nil and body:find("<form", 1, true) then
    -- Cookie and fields from the same answer: a token in them is only valid with that cookie.
    cookie, fields = form_cookie(headers), read_form(body)
  end
end

function done(summary, latency, requests)
  local total_posted, total_failed = 0, 0
  for _, thread in ipairs(threads) do
    total_posted = total_posted + thread:get("posted")
    total_failed = total_failed + thread:get("failed")
  end
  io.write(string.format("Subscriptions posted: %d\n", total_posted))
  io.write(string.format("Non-2xx responses: %d\n", total_failed))
end
