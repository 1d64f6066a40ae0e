// The permissions Bosun needs, and nothing more: the single source for the Helm chart's and the
// plain manifests' roles. A test runs the operator with exactly these and shows others refused.
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** Cluster-wide (namespaced resources in every watched namespace, plus nodes). */
export const clusterRules: PolicyRule[] = [
  { apiGroups: ['bosun.dev'], resources: ['deploymenthooks', 'daemonjobs'], verbs: ['get', 'list', 'watch'] },
  {
    apiGroups: ['bosun.dev'],
    resources: ['deploymenthooks/status', 'daemonjobs/status'],
    verbs: ['update', 'patch'],
  },
  // Owner references with blockOwnerDeletion need this where OwnerReferencesPermissionEnforcement is on.
  {
    apiGroups: ['bosun.dev'],
    resources: ['deploymenthooks/finalizers', 'daemonjobs/finalizers'],
    verbs: ['update'],
  },
  { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['podtemplates', 'nodes'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
];

/** In the operator's own namespace: the leader-election Lease. */
export const leaderElectionRules: PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
];
