// The permissions Bosun needs, and nothing more: the single source for the Helm chart's and the
// plain manifests' roles. Every verb here is one the operator sends (caches list and watch; status
// is written with PUT; Jobs are read back only when a create finds one already there). A test runs
// the operator with exactly these and shows others refused.
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
  verbs: string[];
}

/** Cluster-scoped resources: always in a ClusterRole. */
export const clusterScopedRules: PolicyRule[] = [
  // patch: a DaemonJob with labelNodes labels the nodes that succeeded; with cordon it cordons and
  // uncordons them.
  { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch', 'patch'] },
  // A preview whose cleanup cannot go on checks whether its namespace is being deleted.
  { apiGroups: [''], resources: ['namespaces'], verbs: ['get'] },
  // A DaemonJob with drain lists the pods on the node it drains and evicts them, in any namespace:
  // a node's pods are the cluster's, whichever namespaces Bosun watches.
  { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
  { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
  // BeforeRollout: the gate's webhook configuration (--admission-address), its scope kept by the leader.
  {
    apiGroups: ['admissionregistration.k8s.io'],
    resources: ['mutatingwebhookconfigurations'],
    verbs: ['get', 'create', 'patch'],
  },
];

/**
 * Namespaced resources: in the ClusterRole when every namespace is watched; with a namespace
 * restriction (--namespace), in a Role in each watched namespace, so that no write reaches beyond.
 */
export const namespacedRules: PolicyRule[] = [
  {
    apiGroups: ['bosun.dev'],
    resources: ['deploymenthooks', 'daemonjobs', 'previews', 'previewrepositories', 'previewtemplates'],
    verbs: ['list', 'watch'],
  },
  // A Preview: read back before a second status write, its finalizer and spec.state patched,
  // deleted for maxDeployed.
  // Webhooks and the API create previews; the GitHub reporter records what it reported.
  { apiGroups: ['bosun.dev'], resources: ['previews'], verbs: ['get', 'create', 'patch', 'delete'] },
  // The webhook reads a repository fresh before it writes the list of pull requests from forks.
  { apiGroups: ['bosun.dev'], resources: ['previewrepositories'], verbs: ['get'] },
  // Webhook HMAC keys, forge credentials and API tokens are read from Secrets when needed.
  { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
  // The API and `bosun preview logs` stream the logs of a preview's pods.
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
  {
    apiGroups: ['bosun.dev'],
    resources: [
      'deploymenthooks/status',
      'daemonjobs/status',
      'previews/status',
      'previewrepositories/status',
    ],
    verbs: ['update'],
  },
  // A repository's counts are merge-patched: only they, leaving the fork pull requests the webhook lists.
  { apiGroups: ['bosun.dev'], resources: ['previewrepositories/status'], verbs: ['patch'] },
  // Owner references with blockOwnerDeletion need this where OwnerReferencesPermissionEnforcement is on.
  {
    apiGroups: ['bosun.dev'],
    resources: ['deploymenthooks/finalizers', 'daemonjobs/finalizers', 'previews/finalizers'],
    verbs: ['update'],
  },
  { apiGroups: [''], resources: ['podtemplates'], verbs: ['list', 'watch'] },
  // A preview's undeploy deletes each kind by label at once (deletecollection).
  {
    apiGroups: ['batch'],
    resources: ['jobs'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete', 'deletecollection'],
  },
  // Deployments are watched for hooks; a preview's app is applied, scaled and purged.
  {
    apiGroups: ['apps'],
    resources: ['deployments'],
    verbs: ['list', 'watch', 'create', 'patch', 'delete', 'deletecollection'],
  },
  // A preview's other resources: applied (server-side apply creates), then purged by label.
  {
    apiGroups: [''],
    resources: ['services', 'configmaps', 'secrets', 'persistentvolumeclaims'],
    verbs: ['list', 'create', 'patch', 'delete', 'deletecollection'],
  },
  {
    apiGroups: ['networking.k8s.io'],
    resources: ['ingresses'],
    verbs: ['list', 'create', 'patch', 'delete', 'deletecollection'],
  },
  // StatefulSets and DaemonSets are watched for hooks that select those kinds.
  { apiGroups: ['apps'], resources: ['statefulsets', 'daemonsets'], verbs: ['list', 'watch'] },
  // get: the BeforeRollout webhook reads a new pod's ReplicaSet; a preview's are purged by label.
  { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['get', 'list', 'deletecollection'] },
  // A DaemonJob creates its per-node pods, holds and releases their result finalizer, deletes them;
  // a BeforeRollout hook watches the pods it gates and removes the gate; a preview's pods are
  // purged by label.
  {
    apiGroups: [''],
    resources: ['pods'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete', 'deletecollection'],
  },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
];

/** Watching every namespace: one ClusterRole with both. */
export const clusterRules: PolicyRule[] = [...namespacedRules, ...clusterScopedRules];

/** In the operator's own namespace: the leader-election Lease. */
export const leaderElectionRules: PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
];

/**
 * In the operator's own namespace, with the admission webhook on (whether or not leader election
 * is): its CA and serving certificate Secret, issued and renewed by the operator. Only that
 * Secret is read or patched; create cannot be limited to a name.
 */
export const admissionRules = (secretName: string): PolicyRule[] => [
  { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
  { apiGroups: [''], resources: ['secrets'], resourceNames: [secretName], verbs: ['get', 'patch'] },
];
/** The Secret's name in the chart's copy of `admissionRules`, replaced by the template. */
export const ADMISSION_SECRET_PLACEHOLDER = 'ADMISSION_SECRET_NAME';
