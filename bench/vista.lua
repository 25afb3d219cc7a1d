-- wrk script: a signed-in learner marks lessons as seen (one write transaction each).
-- bench/learning sets SESSION, CSRF and LESSONS ("/aprender/cursos/1/elementos/3/vista,…").
local paths = {}
for p in os.getenv("LESSONS"):gmatch("[^,]+") do table.insert(paths, p) end
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", paths[(i % #paths) + 1], {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "violeta_sesion=" .. os.getenv("SESSION"),
  }, "csrf=" .. os.getenv("CSRF"))
end
