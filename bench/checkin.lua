-- wrk script: QR self check-in, each request a different person with a valid CURP.
-- Set by bench/run through environment variables: CSRF token, its cookie, and the current code.
local dict = "0123456789ABCDEFGHIJKLMN\209\145OPQRSTUVWXYZ"
local chars = {}
do
  -- Build the CURP dictionary as a list of single characters (Ñ is two bytes in UTF-8).
  local i = 1
  for c in ("0123456789ABCDEFGHIJKLMN"):gmatch(".") do chars[c] = i - 1; i = i + 1 end
  i = i + 1 -- Ñ
  for c in ("OPQRSTUVWXYZ"):gmatch(".") do chars[c] = i - 1; i = i + 1 end
end
local consonants = "BCDFGHJKLMNPQRSTVWXYZ"
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local function curp(n)
  local c = function(k) local j = (k % 21) + 1; return consonants:sub(j, j) end
  local year = 40 + (n % 60)
  local month = 1 + (math.floor(n / 60) % 12)
  local day = 1 + (math.floor(n / 720) % 28)
  local s17 = string.format("CAEK%02d%02d%02dMOC%s%s%s%d", year, month, day, c(math.floor(n / 20160)), c(math.floor(n / 423360)), c(tid or 0), math.floor(n / 9000000) % 10)
  local sum = 0
  for i = 1, 17 do sum = sum + chars[s17:sub(i, i)] * (19 - i) end
  return s17 .. tostring((10 - sum % 10) % 10)
end

request = function()
  counter = counter + 1
  local body = "csrf=" .. os.getenv("CSRF") .. "&codigo=" .. os.getenv("CODE") ..
    "&curp=" .. curp(counter) .. "&given_names=Prueba&first_surname=Carga&second_surname=Bench"
  return wrk.format("POST", os.getenv("CHECKIN_PATH"), {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "violeta_csrf=" .. os.getenv("CSRF"),
  }, body)
end
