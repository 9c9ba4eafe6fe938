// The operator's permissions, as data: the single source for the ClusterRole
// in the Helm chart, the plain install manifests and the test control plane
// (which runs the operator as a user holding exactly this role). Each rule
// says why it is needed; nothing uses "*".

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  /** Not rendered; explains the rule to reviewers. */
  why: string;
}

const READ = ['get', 'list', 'watch'];
const OWN = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

export const operatorRules: PolicyRule[] = [
  { apiGroups: ['fluxora.io'], resources: ['models', 'driftmonitors', 'retrainjobs'], verbs: READ, why: 'watch the custom resources it reconciles' },
  { apiGroups: ['fluxora.io'], resources: ['models/status', 'driftmonitors/status', 'retrainjobs/status'], verbs: ['get', 'update', 'patch'], why: 'report results in status (never spec)' },
  { apiGroups: ['fluxora.io'], resources: ['retrainjobs'], verbs: ['create'], why: 'a DriftMonitor whose drift persists creates a RetrainJob' },
  { apiGroups: ['fluxora.io'], resources: ['models/finalizers', 'driftmonitors/finalizers', 'retrainjobs/finalizers'], verbs: ['update'], why: 'set blockOwnerDeletion on owner references of children' },
  { apiGroups: ['apps'], resources: ['deployments'], verbs: OWN, why: "a Model's inference Deployment" },
  { apiGroups: [''], resources: ['services'], verbs: OWN, why: "a Model's Service" },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: OWN, why: "a Model's HPA when autoscaling is set" },
  { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch', 'create'], why: "creates each Model's samples token once (it watches only Secrets it labelled); get is also granted on to drift-check pods for named Secrets, and tells whether a DriftMonitor's credentials Secrets exist" },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'], why: 'record transitions for kubectl describe' },
  { apiGroups: [''], resources: ['pods'], verbs: ['list'], why: "report why a Model's server pods fail to start (their container state) in the Model's status, read while a rollout is unfinished; and why a RetrainJob's data set step failed (its exit code and termination message)" },
  { apiGroups: ['batch'], resources: ['cronjobs'], verbs: OWN, why: "a DriftMonitor's scheduled checks" },
  { apiGroups: ['batch'], resources: ['jobs'], verbs: OWN, why: "a RetrainJob's training run" },
  { apiGroups: [''], resources: ['serviceaccounts'], verbs: OWN, why: 'the identities of drift-check and trainer pods' },
  { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: OWN, why: "drift-check pods' least-privilege Role (the operator holds every permission it grants)" },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list'], why: "find a Model's ready serving pods, to read their prediction-log state on the admin port; also granted to drift-check pods, which find them the same way (RBAC lets the operator grant only what it holds)" },
];

/** Namespaced to the operator's own namespace (a Role, not a ClusterRole). */
export const leaderElectionRules: PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'], why: 'leader election Lease in the operator namespace' },
];

const render = (rules: PolicyRule[]) => rules.map(({ apiGroups, resources, verbs }) => ({ apiGroups, resources, verbs }));

export function clusterRole(name = 'fluxora-operator') {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name, labels: { 'app.kubernetes.io/name': 'fluxora-operator' } },
    rules: render(operatorRules),
  };
}

export function leaderElectionRole(namespace: string, name = 'fluxora-operator-leader-election') {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/name': 'fluxora-operator' } },
    rules: render(leaderElectionRules),
  };
}
