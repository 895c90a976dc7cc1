-- wrk script for the bench harness: one POST per request with a unique email and phone.
-- BENCH_KIND picks the body (capture, create, convoso, contact, bulk, async); BENCH_PATH is the
-- path with its query (the keys); BENCH_BASE offsets the numbers so that runs never collide.
local kind = os.getenv("BENCH_KIND") or "capture"
local path = os.getenv("BENCH_PATH") or "/"
local base = tonumber(os.getenv("BENCH_BASE") or "0")
local api_key = os.getenv("BENCH_API_KEY") or ""
local rows = tonumber(os.getenv("BENCH_ROWS") or "25")
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local counter = 0
local json_headers = { ["Content-Type"] = "application/json" }
local form_headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }

function init(args)
  counter = 0
  if api_key ~= "" then
    json_headers["x-api-key"] = api_key
  end
end

local function identity()
  counter = counter + 1
  local n = base + tid * 10000000 + counter
  return n, string.format("b%d@bench.example.com", n), string.format("+1%d", 2000000000 + n)
end

local function ls_lead(n, email, phone)
  return string.format(
    '[{"Attribute":"FirstName","Value":"Bench%d"},{"Attribute":"LastName","Value":"Load"},'
      .. '{"Attribute":"EmailAddress","Value":"%s"},{"Attribute":"Phone","Value":"%s"},'
      .. '{"Attribute":"Source","Value":"Bench"},{"Attribute":"mx_City","Value":"Austin"}]',
    n, email, phone)
end

function request()
  if kind == "bulk" then
    local parts = {}
    for i = 1, rows do
      parts[i] = ls_lead(identity())
    end
    return wrk.format("POST", path, json_headers, "[" .. table.concat(parts, ",") .. "]")
  end
  local n, email, phone = identity()
  if kind == "convoso" then
    local body = string.format(
      "phone_number=%d&phone_code=1&first_name=Bench%d&last_name=Load&email=%s",
      2000000000 + n, n, email)
    return wrk.format("POST", path, form_headers, body)
  elseif kind == "contact" then
    local body = string.format(
      "contact_name=Bench%%20%d&contact_email1=%s&contact_phone1=%%2B1%d&company_name=Bench",
      n, email, 2000000000 + n)
    return wrk.format("POST", path, form_headers, body)
  end
  return wrk.format("POST", path, json_headers, ls_lead(n, email, phone))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"status_errors":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.status, e.connect + e.read + e.write + e.timeout))
end
