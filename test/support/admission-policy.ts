// A cluster policy that refuses some objects in one namespace, as Kyverno,
// Gatekeeper or a platform team's ValidatingAdmissionPolicy would: the
// built-in ValidatingAdmissionPolicy (CEL, no webhook), bound to the
// namespace. For children the API server refuses for reasons no CRD rule
// can foresee.
import { resourcePath, type KubeClient, type KubeObject, type ResourceType } from '../../src/runtime/kube-client.js';
import { waitFor } from './cluster.js';

const PolicyResource: ResourceType = {
  group: 'admissionregistration.k8s.io',
  version: 'v1',
  kind: 'ValidatingAdmissionPolicy',
  plural: 'validatingadmissionpolicies',
  namespaced: false,
};
const BindingResource: ResourceType = { ...PolicyResource, kind: 'ValidatingAdmissionPolicyBinding', plural: 'validatingadmissionpolicybindings' };

export interface DenyRule {
  /** e.g. { apiGroups: ['apps'], resources: ['deployments'] } */
  apiGroups: string[];
  resources: string[];
  /** CEL over `object`: objects for which it is false are refused. */
  expression: string;
  message: string;
  /** An object the policy must refuse, sent with dryRun until it is (policies take a moment to load). */
  probe: { type: ResourceType; object: KubeObject };
}

/** Installs the policy for `namespace` and waits until it refuses `probe`; returns its removal. */
export async function denyInNamespace(client: KubeClient, namespace: string, name: string, rule: DenyRule): Promise<() => Promise<void>> {
  const policyName = `${name}-${namespace}`;
  await client.create(PolicyResource, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: policyName },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: { resourceRules: [{ apiGroups: rule.apiGroups, apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: rule.resources }] },
      validations: [{ expression: rule.expression, message: rule.message }],
    },
  } as KubeObject);
  await client.create(BindingResource, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: policyName },
    spec: {
      policyName,
      validationActions: ['Deny'],
      matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } } },
    },
  } as KubeObject);
  const { type, object } = rule.probe;
  await waitFor(`policy ${policyName} in force`, async () => {
    try {
      await client.request('POST', resourcePath(type, namespace), { body: { ...object, metadata: { ...object.metadata, namespace } }, query: { dryRun: 'All' } });
      return false;
    } catch (e) {
      return (e as Error).message.includes(rule.message);
    }
  }, 30_000, 250);
  return async () => {
    await client.delete(BindingResource, undefined, policyName);
    await client.delete(PolicyResource, undefined, policyName);
  };
}
