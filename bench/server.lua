-- bench/server.lua: wrk script for bench/server.sh.  Each request POSTs a
-- miner body to /get-folder-access with the current time as its timestamp
-- and a hotkey that cycles through 10000 names per wrk thread, so every
-- request is admitted under large limits and takes the full counting path.

local threads = 0

function setup(thread)
    thread:set("thread_id", threads)
    threads = threads + 1
end

local n = 0

function request()
    n = n + 1
    local body = string.format(
        '{"coldkey":"bench-cold","hotkey":"bench-%d-%d","timestamp":%d,"signature":"ok"}',
        thread_id or 0, n % 10000, os.time())
    return wrk.format("POST", "/get-folder-access",
                      {["Content-Type"] = "application/json"}, body)
end
