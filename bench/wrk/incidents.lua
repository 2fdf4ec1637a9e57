-- wrk script for bench/incidents_load.py: one request shape per run, a JSON summary at the end.
--
--   wrk -s bench/wrk/incidents.lua URL -- GET  /bench/hello
--   wrk -s bench/wrk/incidents.lua URL -- POST /incidents TOKEN PREFIX POINTS_CSV
--
-- POST bodies are located reports at the points of POINTS_CSV ("lon,lat" per line), each with
-- its own Idempotency-Key PREFIX-<thread>-<n>, so that every request stores a new incident.

local method, path, token, prefix
local points = {}
local categories = { "sanitation", "safety_hazard", "dispute", "broken_facility", "other" }
local counter = 0
local threads = 0

function setup(thread)
   threads = threads + 1
   thread:set("tid", threads)
end

function init(args)
   method, path, token, prefix = args[1] or "GET", args[2] or "/", args[3] or "", args[4] or "wrk"
   if args[5] then
      for line in io.lines(args[5]) do
         local lon, lat = line:match("^([^,]+),([^,]+)$")
         if lon then points[#points + 1] = { lon, lat } end
      end
   end
end

function request()
   if method == "GET" then
      return wrk.format("GET", path)
   end
   counter = counter + 1
   local p = points[(counter * 7 + tid * 7919) % #points + 1]
   local body = '{"lon":' .. p[1] .. ',"lat":' .. p[2] .. ',"category":"'
      .. categories[counter % #categories + 1] .. '","accuracy_m":15}'
   local headers = {
      ["Content-Type"] = "application/json",
      ["Idempotency-Key"] = prefix .. "-" .. tid .. "-" .. counter,
   }
   if token ~= "" then headers["Authorization"] = "Bearer " .. token end
   return wrk.format("POST", path, headers, body)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRKJSON {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,'
      .. '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,'
      .. '"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
      summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      latency.mean))
end
