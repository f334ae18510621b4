-- A complete sign-in: the authorize link with remembered consent (302 with a code), the code
-- exchange, and one call of the user API with the new access token.
--   args: <file> <threads>; lines: "<Authorization header><TAB><session cookie><TAB><authorize path>"
-- wrk does not say which connection an answer belongs to, so each thread keeps queues: a code
-- from an authorize answer is exchanged by the next free connection, and the access token
-- from that exchange is used by the next one. Every sign-in still makes all three requests,
-- each after the one it depends on; `completed` counts sign-ins whose API call succeeded.

local common = require "common"
setup, done = common.setup, common.done

local sessions, next_session, authorization
local codes, access = {}, {}

function init(args)
  common.init_counters()
  sessions, next_session = {}, 0
  -- Browser sessions are reused: every thread signs in with all of them.
  for _, line in ipairs(common.lines(args[1], tonumber(args[2]), true)) do
    local f = common.split(line)
    authorization = f[1]
    sessions[#sessions + 1] = wrk.format("GET", f[3], { ["Cookie"] = "wtp_session=" .. f[2] })
  end
end

function request()
  if #access > 0 then
    return wrk.format("GET", "/api/users/@me", {
      ["Authorization"] = "Bearer " .. table.remove(access),
    })
  end
  if #codes > 0 then
    return wrk.format("POST", "/api/oauth/token", {
      ["Authorization"] = authorization,
      ["Content-Type"] = "application/x-www-form-urlencoded",
    }, "grant_type=authorization_code&code=" .. table.remove(codes))
  end
  next_session = next_session % #sessions + 1
  return sessions[next_session]
end

function response(status, headers, body)
  if status == 302 then
    local location = headers["location"] or headers["Location"] or ""
    local code = string.match(location, "[?&]code=([^&]+)")
    if code then
      codes[#codes + 1] = code
      return
    end
  elseif status == 200 then
    local token = string.match(body, '"access_token":"([^"]+)"')
    if token then
      access[#access + 1] = token
      return
    end
    if string.find(body, '"username"', 1, true) then
      completed = completed + 1
      return
    end
  end
  unexpected = unexpected + 1
end
