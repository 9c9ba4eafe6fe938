// REST coordinates of the built-in kinds the controllers create or read.
import type { ResourceType } from '../runtime/kube-client.js';

export const DeploymentResource: ResourceType = { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true };
export const ServiceResource: ResourceType = { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true };
export const SecretResource: ResourceType = { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true };
export const PodResource: ResourceType = { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true };
export const EventResource: ResourceType = { group: '', version: 'v1', kind: 'Event', plural: 'events', namespaced: true };
export const ServiceAccountResource: ResourceType = { group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true };
export const CronJobResource: ResourceType = { group: 'batch', version: 'v1', kind: 'CronJob', plural: 'cronjobs', namespaced: true };
export const JobResource: ResourceType = { group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', namespaced: true };
export const RoleResource: ResourceType = { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles', namespaced: true };
export const RoleBindingResource: ResourceType = { ...RoleResource, kind: 'RoleBinding', plural: 'rolebindings' };
export const HpaResource: ResourceType = {
  group: 'autoscaling',
  version: 'v2',
  kind: 'HorizontalPodAutoscaler',
  plural: 'horizontalpodautoscalers',
  namespaced: true,
};

/** Every object the operator creates carries this label; informers select on it. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'fluxora-operator';
export const MANAGED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;
