-- Argo CD health check for auth0.domain-operator.dev/CustomDomain and /Auth0Tenant (kstatus semantics).
-- Written for Argo CD's Lua 5.1 runtime (gopher-lua): `obj` is the live object as a table.
--   Healthy      Ready=True and the status describes the current generation
--   Degraded     Stalled=True (progress needs a person; the condition's message says why)
--   Progressing  no status yet, status behind metadata.generation, Reconciling=True, or not Ready
local hs = { status = "Progressing", message = "Waiting for the operator to report status" }

local function condition(conds, kind)
  if conds == nil then
    return nil
  end
  for _, c in ipairs(conds) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function describe(c, fallback)
  local text = c.reason or fallback
  if c.message ~= nil and c.message ~= "" then
    text = text .. ": " .. c.message
  end
  return text
end

if obj.status == nil then
  return hs
end

local generation = obj.metadata and obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local conds = obj.status.conditions
local stalled = condition(conds, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled, "Stalled")
  return hs
end

local reconciling = condition(conds, "Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  hs.message = describe(reconciling, "Reconciling")
  return hs
end

local ready = condition(conds, "Ready")
if ready == nil then
  hs.message = "Waiting for the Ready condition"
  return hs
end
if generation ~= nil and ready.observedGeneration ~= nil and ready.observedGeneration < generation then
  hs.message = "Waiting for Ready of generation " .. tostring(generation)
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  return hs
end
hs.message = describe(ready, "NotReady")
return hs
