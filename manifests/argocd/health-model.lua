-- Argo CD health check for fluxora.io/Model.
-- Install: resource.customizations.health.fluxora.io_Model in argocd-cm (see docs/gitops.md).
local hs = { status = "Progressing", message = "Waiting for the operator" }
if obj.status == nil then return hs end
local generation = obj.metadata.generation or 0
if (obj.status.observedGeneration or 0) < generation then
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end
local ready, stalled, reconciling
for _, c in ipairs(obj.status.conditions or {}) do
  if c.type == "Ready" then ready = c end
  if c.type == "Stalled" and c.status == "True" then stalled = c end
  if c.type == "Reconciling" and c.status == "True" then reconciling = c end
end
if stalled ~= nil then
  return { status = "Degraded", message = (stalled.reason or "") .. ": " .. (stalled.message or "") }
end
if ready ~= nil and ready.status == "True" and reconciling == nil then
  return { status = "Healthy", message = ready.message or "Ready" }
end
if ready ~= nil then
  hs.message = (ready.reason or "") .. ": " .. (ready.message or "")
end
return hs
