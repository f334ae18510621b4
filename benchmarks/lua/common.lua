-- Shared by the scenario scripts: thread ids, request files, counters and the JSON summary.
--
-- Every script is run as `wrk -s <script> ... -- <file> <threads> [...]`, with this folder as
-- the working directory (see M.lines for which lines each thread sends).

local M = {}
local threads = {}
local next_id = 0

function M.setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- The lines of a file this thread sends. Single-use lines (codes, refresh tokens; the
-- default) are dealt out: each thread takes every n-th line, so no two threads share one.
-- Reusable lines (`shared`: access tokens, the baselines' requests) are all sent by every
-- thread, each starting at its own offset. A thread left with no line would keep its
-- connections idle and quietly halve the concurrency measured: that stops the run instead.
function M.lines(path, nthreads, shared)
  local all = {}
  for line in io.lines(path) do
    if line ~= "" then
      all[#all + 1] = line
    end
  end
  local mine = {}
  if shared then
    for i = 1, #all do
      mine[i] = all[(i - 1 + thread_id) % #all + 1]
    end
  else
    for i = thread_id + 1, #all, nthreads do
      mine[#mine + 1] = all[i]
    end
  end
  if #mine == 0 then
    error(string.format("thread %d of %d has no line of %s to send", thread_id, nthreads, path))
  end
  return mine
end

function M.split(line)
  local fields = {}
  for value in string.gmatch(line, "[^\t]+") do
    fields[#fields + 1] = value
  end
  return fields
end

-- A line "METHOD<TAB>PATH<TAB>BODY<TAB>Name: value<TAB>..." as a raw request ("-" = no body).
function M.format(line)
  local f = M.split(line)
  local headers = {}
  for i = 4, #f do
    local name, value = string.match(f[i], "^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  local body = f[3]
  if body == "-" then
    body = nil
  end
  return wrk.format(f[1], f[2], headers, body)
end

function M.init_counters()
  unexpected = 0 -- answers that were not what the scenario expects
  exhausted = 0 -- requests sent after the prepared credentials ran out
  completed = 0 -- whole flows completed (sign-in scenario)
end

local function sum(name)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get(name) or 0)
  end
  return total
end

function M.done(summary, latency, requests)
  local e = summary.errors
  local parts = {
    string.format('"requests": %d', summary.requests),
    string.format('"duration_us": %d', summary.duration),
    string.format('"bytes": %d', summary.bytes),
    string.format('"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}',
      e.connect, e.read, e.write, e.status, e.timeout),
    string.format('"latency_us": {"mean": %.1f, "max": %d, "p50": %d, "p90": %d, "p99": %d, "p999": %d}',
      latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9)),
    string.format('"unexpected": %d', sum("unexpected")),
    string.format('"exhausted": %d', sum("exhausted")),
    string.format('"completed": %d', sum("completed")),
  }
  io.write("WTP_BENCH_JSON {" .. table.concat(parts, ", ") .. "}\n")
end

return M
