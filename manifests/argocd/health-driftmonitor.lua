-- Argo CD health check for fluxora.io/DriftMonitor. Drift itself is a finding
-- about the data, not about the resource: a monitor that checks and reports
-- drift is Healthy (alert on fluxora_drift_detected instead); a monitor that
-- cannot run its checks is Degraded.
local hs = { status = "Progressing", message = "Waiting for the operator" }
if obj.status == nil then return hs end
local generation = obj.metadata.generation or 0
if (obj.status.observedGeneration or 0) < generation then
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end
if obj.spec ~= nil and obj.spec.suspend == true then
  return { status = "Suspended", message = "Checks are suspended" }
end
local ready, stalled, drift
for _, c in ipairs(obj.status.conditions or {}) do
  if c.type == "Ready" then ready = c end
  if c.type == "Stalled" and c.status == "True" then stalled = c end
  if c.type == "DriftDetected" then drift = c end
end
if stalled ~= nil then
  return { status = "Degraded", message = (stalled.reason or "") .. ": " .. (stalled.message or "") }
end
if ready ~= nil and ready.status == "True" then
  local msg = ready.message or "Ready"
  if drift ~= nil and drift.status == "True" then msg = "Drift detected: " .. (drift.message or "") end
  return { status = "Healthy", message = msg }
end
if ready ~= nil then hs.message = (ready.reason or "") .. ": " .. (ready.message or "") end
return hs
