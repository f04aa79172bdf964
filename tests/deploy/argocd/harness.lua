-- Runs an Argo CD health script the way Argo CD does: the script is a chunk that sees the live
-- object as the global `obj` and returns { status = ..., message = ... }.
-- Usage: lua5.4 harness.lua SCRIPT OBJ_FILE   (OBJ_FILE: `return <table constructor>`)
-- Also runs under lua5.1, the language version of gopher-lua, Argo CD's interpreter.
-- The script gets only what Argo CD's sandbox offers for health checks (no io, os, require),
-- so a script that would fail under Argo fails here too.
local script_path, obj_path = arg[1], arg[2]

-- loadfile with an environment: Lua 5.2+ takes it as an argument, Lua 5.1 needs setfenv.
local function load_in(path, env)
  if setfenv ~= nil then
    local chunk = assert(loadfile(path))
    return setfenv(chunk, env)
  end
  return assert(loadfile(path, "t", env))
end

local obj = load_in(obj_path, {})()
local env = {
  obj = obj,
  pairs = pairs, ipairs = ipairs, next = next, type = type,
  tostring = tostring, tonumber = tonumber, error = error, pcall = pcall,
  string = string, table = table, math = math,
}
local chunk = load_in(script_path, env)
local hs = chunk()
if type(hs) ~= "table" then
  error("health script returned " .. type(hs) .. ", want a table")
end
io.write(tostring(hs.status), "\t", tostring(hs.message), "\n")
