-- Refresh token rotation, as clients do it: each answer's new refresh token is the one sent
-- next, so every request presents a token that the server issued a moment before.
--   args: <file> <threads>; lines: "<Authorization header><TAB><refresh token>", one client.
-- Each thread starts with more tokens than it has connections, so one is always free.

local common = require "common"
setup, done = common.setup, common.done

local queue, head, tail, authorization

local function push(token)
  tail = tail + 1
  queue[tail] = token
end

function init(args)
  common.init_counters()
  queue, head, tail = {}, 1, 0
  for _, line in ipairs(common.lines(args[1], tonumber(args[2]))) do
    local f = common.split(line)
    authorization = f[1]
    push(f[2])
  end
end

function request()
  local token = "exhausted"
  if head <= tail then
    token = queue[head]
    queue[head] = nil
    head = head + 1
  else
    exhausted = exhausted + 1
  end
  return wrk.format("POST", "/api/oauth/token", {
    ["Authorization"] = authorization,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  local token = status == 200 and string.match(body, '"refresh_token":"([^"]+)"')
  if token then
    push(token)
  else
    unexpected = unexpected + 1
  end
end
