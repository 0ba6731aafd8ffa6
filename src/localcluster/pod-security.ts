/**
 * The container security context every Pod the local node runs for the platform gets (Kubernetes' "restricted"
 * profile): a fixed non-root user, no privilege escalation, a read-only root file system, no capabilities, the
 * runtime's default seccomp profile. Writable paths are volumes.
 */
export function restrictedContainerSecurity(user: number, group?: number): Record<string, unknown> {
  return {
    runAsNonRoot: true,
    runAsUser: user,
    ...(group === undefined ? {} : { runAsGroup: group }),
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
