-- Argo CD health check for graminsta.io/GraminstaApp, from the status the operator writes.
-- The kstatus conventions: paused, not yet observed, Stalled (Degraded), Ready and not Reconciling (Healthy),
-- otherwise Progressing.
local hs = { status = "Progressing", message = "Waiting for the operator to reconcile the app" }

local function condition(conditions, type_)
  if conditions == nil then return nil end
  for _, c in ipairs(conditions) do
    if c.type == type_ then return c end
  end
  return nil
end

local function describe(c)
  local reason = c.reason or c.type
  if c.message ~= nil and c.message ~= "" then
    return reason .. ": " .. c.message
  end
  return reason
end

if obj.spec ~= nil and obj.spec.paused == true then
  hs.status = "Suspended"
  hs.message = "spec.paused is true: the operator changes nothing until it is false"
  return hs
end

if obj.status == nil then
  return hs
end

local generation = obj.metadata and obj.metadata.generation or nil
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation) ..
    " (status is for " .. tostring(observed or "none") .. ")"
  return hs
end

local conditions = obj.status.conditions
local stalled = condition(conditions, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled)
  return hs
end

local ready = condition(conditions, "Ready")
local reconciling = condition(conditions, "Reconciling")
local busy = reconciling ~= nil and reconciling.status == "True"
if ready ~= nil and ready.status == "True" and not busy then
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end

if ready ~= nil and ready.status ~= "True" then
  hs.message = describe(ready)
  return hs
end

if reconciling ~= nil then
  hs.message = describe(reconciling)
end
return hs
