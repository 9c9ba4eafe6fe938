-- Argo CD health check for fluxora.io/RetrainJob: follows status.phase.
-- Rejected (the new model did not pass its acceptance gate) is reported as
-- Degraded so the application shows that the retrain delivered nothing.
local hs = { status = "Progressing", message = "Waiting for the operator" }
if obj.status == nil or obj.status.phase == nil then return hs end
local phase = obj.status.phase
local message = phase
for _, c in ipairs(obj.status.conditions or {}) do
  if c.type == "Ready" and c.message ~= nil and c.message ~= "" then message = phase .. ": " .. c.message end
end
if phase == "Succeeded" then return { status = "Healthy", message = message } end
if phase == "Failed" or phase == "Rejected" then return { status = "Degraded", message = message } end
hs.message = message
return hs
