-- Every 100th request of each wrk thread goes to /hang (never answered unless the server kills it);
-- the rest go to /. Deterministic and independent of the server's process/thread layout.
local n = 0
request = function()
  n = n + 1
  if n % 100 == 0 then
    return wrk.format("GET", "/hang?n=" .. n)
  end
  return wrk.format("GET", "/")
end
