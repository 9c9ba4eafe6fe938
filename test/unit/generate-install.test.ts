// The pieces of hack/generate-install.ts that turn `helm template` output into
// the plain install manifests.
import { describe, expect, it } from 'vitest';
import { splitBySource, withoutHelmLabels } from '../../hack/generate-install.js';

const rendered = `---
# Source: fluxora-operator/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: op
---
# Source: fluxora-operator/templates/rbac.yaml
kind: ClusterRole
---
# Source: fluxora-operator/templates/rbac.yaml
kind: ClusterRoleBinding
`;

describe('splitBySource', () => {
  it('groups documents by the template that produced them, in order', () => {
    const parts = splitBySource(rendered);
    expect([...parts.keys()]).toEqual(['serviceaccount.yaml', 'rbac.yaml']);
    expect(parts.get('rbac.yaml')).toEqual(['kind: ClusterRole\n', 'kind: ClusterRoleBinding\n']);
  });

  it('refuses output it cannot attribute to a template', () => {
    expect(() => splitBySource('---\nkind: Secret\n')).toThrow(/without a "# Source:" line/);
  });
});

describe('withoutHelmLabels', () => {
  it('drops the Helm release labels and keeps everything else, comments included', () => {
    const doc = `kind: ClusterRole
metadata:
  labels:
    app.kubernetes.io/name: fluxora-operator
    app.kubernetes.io/managed-by: Helm
    helm.sh/chart: fluxora-operator-0.1.0
rules:
  # why this rule exists
  - {apiGroups: [""], resources: [events], verbs: [create]}
`;
    const out = withoutHelmLabels(doc);
    expect(out).not.toMatch(/managed-by|helm\.sh\/chart/);
    expect(out).toContain('app.kubernetes.io/name: fluxora-operator');
    expect(out).toContain('# why this rule exists');
    expect(out).toContain('- {apiGroups: [""], resources: [events], verbs: [create]}');
  });

  it('names the problem when the rendered YAML is broken', () => {
    expect(() => withoutHelmLabels('metadata: {labels: [\n')).toThrow(/not valid YAML/);
  });
});
