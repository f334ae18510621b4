-- Requests from a file, one per line (see common.format).
--   args: <file> <threads> <mode> [<expected body text>]
--   mode "once":  each line is sent once (single-use codes); then the run is out of requests.
--   mode "cycle": the lines are sent round and round (access tokens, baselines).
-- With an expected text, an answer that is not 2xx/3xx or lacks it counts as unexpected.

local common = require "common"
setup, done = common.setup, common.done

local prepared, position, once, expect

function init(args)
  common.init_counters()
  once = args[3] == "once"
  prepared = {}
  for _, line in ipairs(common.lines(args[1], tonumber(args[2]), not once)) do
    prepared[#prepared + 1] = common.format(line)
  end
  position = 0
  expect = args[4]
  if expect == nil then
    response = nil -- wrk then skips parsing answers altogether
  end
end

function request()
  position = position + 1
  if position > #prepared then
    if once then
      exhausted = exhausted + 1
    end
    position = 1
  end
  return prepared[position]
end

function response(status, headers, body)
  if status >= 400 or not string.find(body, expect, 1, true) then
    unexpected = unexpected + 1
  end
end
