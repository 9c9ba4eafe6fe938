// The Pod Security "restricted" profile, shared by every pod the operator
// creates (serving, drift-check, trainer): non-root (the image's nonroot
// user), seccomp RuntimeDefault, no privilege escalation, all capabilities
// dropped, read-only root filesystem (each pod mounts an emptyDir at /tmp).

export const NONROOT_UID = 65532;

export function restrictedPodSecurityContext(o: { fsGroup?: boolean } = {}) {
  return {
    runAsNonRoot: true,
    runAsUser: NONROOT_UID,
    runAsGroup: NONROOT_UID,
    ...(o.fsGroup ? { fsGroup: NONROOT_UID } : {}),
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function restrictedContainerSecurityContext() {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
