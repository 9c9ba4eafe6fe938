// REST coordinates of Fluxora's own kinds, derived from the API definitions.
import { DriftMonitorResource, ModelResource, RetrainJobResource } from '../api/index.js';
import type { ResourceType } from '../runtime/kube-client.js';

function toResourceType(r: { apiVersion: string; kind: string; plural: string; namespaced: boolean }): ResourceType {
  const [group, version] = r.apiVersion.split('/') as [string, string];
  return { group, version, kind: r.kind, plural: r.plural, namespaced: r.namespaced };
}

export const ModelType = toResourceType(ModelResource);
export const DriftMonitorType = toResourceType(DriftMonitorResource);
export const RetrainJobType = toResourceType(RetrainJobResource);
