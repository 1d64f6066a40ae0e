// kwok configuration: which simulated-kubelet behaviours the local cluster has.
//
// Pod behaviour is driven by these documented labels and annotations (see docs/local-cluster.md):
//   annotation kwok.bosun.dev/ready-after: "10s"   the pod stays Pending (not Ready) this long
//   annotation kwok.bosun.dev/finish-after: "30s"  a Job's (or DaemonJob's) pod runs this long before it ends
//   annotation kwok.bosun.dev/terminate-after: "5s"  a deleted pod stays terminating this long
//   label      kwok.bosun.dev/fail: "true"         such a pod ends Failed instead of Succeeded
//   annotation kwok.bosun.dev/fail-on-nodes: "a,b"    it fails only when it runs on one of these nodes
//   annotation kwok.bosun.dev/exit-code, /reason, /message   how it fails (default 1, Error)
// and on a node:
//   annotation kwok.bosun.dev/not-ready: "true"       the node reports Ready=False until it is removed
// Delays use a fixed duration and no jitter: in kwok a jitter not larger than the delay replaces it.
import { stringify } from 'yaml';
import { clusterLogs } from './kwok-logs.ts';

export const READY_AFTER = 'kwok.bosun.dev/ready-after';
export const NODE_NOT_READY = 'kwok.bosun.dev/not-ready';
export const FINISH_AFTER = 'kwok.bosun.dev/finish-after';
export const TERMINATE_AFTER = 'kwok.bosun.dev/terminate-after';
export const FAIL_LABEL = 'kwok.bosun.dev/fail';
export const FAIL_EXIT_CODE = 'kwok.bosun.dev/exit-code';
export const FAIL_REASON = 'kwok.bosun.dev/reason';
export const FAIL_MESSAGE = 'kwok.bosun.dev/message';
export const FAIL_ON_NODES = 'kwok.bosun.dev/fail-on-nodes';

const annotation = (key: string) => `.metadata.annotations["${key}"]`;
const notDeleted = { key: '.metadata.deletionTimestamp', operator: 'DoesNotExist' };
const phaseIs = (phase: string) => ({ key: '.status.phase', operator: 'In', values: [phase] });
/** Pods that run to completion: a Job's, and the per-node pods a DaemonJob creates itself. */
const runsToCompletion = {
  key: '.metadata.ownerReferences.[].kind',
  operator: 'In',
  values: ['Job', 'DaemonJob'],
};
/** jq: does the pod hold a finalizer of its owner's (a DaemonJob's result), which a kubelet leaves alone? */
const holdsOwnerFinalizer = '(.metadata.finalizers // []) | any(. == "bosun.dev/node-result")';
/** jq: is the pod's node listed in its fail-on-nodes annotation? */
const failsOnItsNode = `.spec.nodeName as $n | ((.metadata.annotations["${FAIL_ON_NODES}"] // "") | split(",") | any(. == $n))`;
const delayFrom = (key: string) => ({
  durationMilliseconds: 0,
  durationFrom: { expressionFrom: annotation(key) },
});

const podIPs = `
hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}`;

const nodeStatus = `
{{ $now := Now }}
conditions:
{{ range NodeConditions }}
- lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
  message: {{ .message | Quote }}
  reason: {{ .reason | Quote }}
  status: {{ .status | Quote }}
  type: {{ .type | Quote }}
{{ end }}
addresses:
{{ with NodeIP }}
- address: {{ . | Quote }}
  type: InternalIP
{{ end }}
- address: {{ .metadata.name | Quote }}
  type: Hostname
{{ with NodePort }}
daemonEndpoints:
  kubeletEndpoint:
    Port: {{ . }}
{{ end }}
nodeInfo:
  architecture: amd64
  operatingSystem: linux
  kubeletVersion: kwok
  kernelVersion: kwok
  containerRuntimeVersion: kwok
phase: Running`;

const nodeNotReadyStatus = `
{{ $now := Now }}
conditions:
- {type: Ready, status: "False", reason: KubeletNotReady, message: "kwok.bosun.dev/not-ready is set", lastHeartbeatTime: {{ $now | Quote }}, lastTransitionTime: {{ $now | Quote }}}
- {type: MemoryPressure, status: "False", reason: KubeletHasSufficientMemory, message: "", lastHeartbeatTime: {{ $now | Quote }}, lastTransitionTime: {{ $now | Quote }}}
- {type: DiskPressure, status: "False", reason: KubeletHasNoDiskPressure, message: "", lastHeartbeatTime: {{ $now | Quote }}, lastTransitionTime: {{ $now | Quote }}}
- {type: PIDPressure, status: "False", reason: KubeletHasSufficientPID, message: "", lastHeartbeatTime: {{ $now | Quote }}, lastTransitionTime: {{ $now | Quote }}}
phase: Running`;

const podRunning = `
{{ $now := Now }}
conditions:
- {type: PodScheduled, status: "True", lastTransitionTime: {{ $now | Quote }}}
- {type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }}}
- {type: ContainersReady, status: "True", lastTransitionTime: {{ $now | Quote }}}
- {type: Ready, status: "True", lastTransitionTime: {{ $now | Quote }}}
{{ range .spec.readinessGates }}
- {type: {{ .conditionType | Quote }}, status: "True", lastTransitionTime: {{ $now | Quote }}}
{{ end }}
containerStatuses:
{{ range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  ready: true
  started: true
  restartCount: 0
  state: {running: {startedAt: {{ $now | Quote }}}}
{{ end }}
initContainerStatuses:
{{ range .spec.initContainers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  ready: true
  restartCount: 0
  state: {terminated: {exitCode: 0, reason: Completed, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }}}}
{{ end }}
${podIPs}
phase: Running
startTime: {{ $now | Quote }}`;

const podTerminated = (phase: 'Succeeded' | 'Failed') => `
{{ $now := Now }}
{{ $a := or .metadata.annotations dict }}
{{ $started := or .status.startTime $now }}
conditions:
- {type: PodScheduled, status: "True", lastTransitionTime: {{ $started | Quote }}}
- {type: Initialized, status: "True", lastTransitionTime: {{ $started | Quote }}}
- {type: ContainersReady, status: "False", reason: PodCompleted, lastTransitionTime: {{ $now | Quote }}}
- {type: Ready, status: "False", reason: PodCompleted, lastTransitionTime: {{ $now | Quote }}}
containerStatuses:
{{ range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  ready: false
  started: false
  restartCount: 0
  state:
    terminated:
${
  phase === 'Succeeded'
    ? '      exitCode: 0\n      reason: Completed'
    : `      exitCode: {{ or ( index $a "${FAIL_EXIT_CODE}" ) 1 }}
      reason: {{ or ( index $a "${FAIL_REASON}" ) "Error" | Quote }}
      message: {{ or ( index $a "${FAIL_MESSAGE}" ) "failed (kwok.bosun.dev/fail)" | Quote }}`
}
      startedAt: {{ $started | Quote }}
      finishedAt: {{ $now | Quote }}
{{ end }}
${podIPs}
phase: ${phase}
startTime: {{ $started | Quote }}`;

function stage(name: string, kind: 'Node' | 'Pod', matchExpressions: object[], next: object, delay?: object) {
  return {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Stage',
    metadata: { name },
    spec: {
      resourceRef: { apiGroup: 'v1', kind },
      selector: { matchExpressions },
      ...(delay ? { delay } : {}),
      next,
    },
  };
}

export const stages = [
  stage(
    'node-initialize',
    'Node',
    [
      {
        key: '.status.conditions.[] | select( .type == "Ready" ) | .status',
        operator: 'NotIn',
        values: ['True'],
      },
      { key: annotation(NODE_NOT_READY), operator: 'DoesNotExist' },
    ],
    { statusTemplate: nodeStatus },
  ),
  // A node annotated kwok.bosun.dev/not-ready reports a kubelet that is not ready, until the
  // annotation goes (then node-initialize makes it Ready again).
  stage(
    'node-not-ready',
    'Node',
    [
      { key: annotation(NODE_NOT_READY), operator: 'Exists' },
      {
        key: '.status.conditions.[] | select( .type == "Ready" ) | .status',
        operator: 'NotIn',
        values: ['False'],
      },
    ],
    { statusTemplate: nodeNotReadyStatus },
  ),
  // Node health travels on the Lease that kwok renews; this status heartbeat only refreshes
  // conditions now and then, like a kubelet with node leases does.
  stage(
    'node-heartbeat',
    'Node',
    [
      { key: '.status.phase', operator: 'In', values: ['Running'] },
      {
        key: '.status.conditions.[] | select( .type == "Ready" ) | .status',
        operator: 'In',
        values: ['True'],
      },
    ],
    { statusTemplate: nodeStatus },
    { durationMilliseconds: 300_000, jitterDurationMilliseconds: 360_000 },
  ),
  stage(
    'pod-ready',
    'Pod',
    [
      notDeleted,
      phaseIs('Pending'),
      { key: '.spec.nodeName', operator: 'Exists' },
      { key: '.status.podIP', operator: 'DoesNotExist' },
    ],
    { statusTemplate: podRunning },
    delayFrom(READY_AFTER),
  ),
  stage(
    'pod-complete',
    'Pod',
    [
      notDeleted,
      phaseIs('Running'),
      runsToCompletion,
      { key: `.metadata.labels["${FAIL_LABEL}"]`, operator: 'DoesNotExist' },
      { key: failsOnItsNode, operator: 'NotIn', values: ['true'] },
    ],
    { statusTemplate: podTerminated('Succeeded') },
    delayFrom(FINISH_AFTER),
  ),
  stage(
    'pod-fail',
    'Pod',
    [notDeleted, phaseIs('Running'), { key: `.metadata.labels["${FAIL_LABEL}"]`, operator: 'Exists' }],
    { statusTemplate: podTerminated('Failed') },
    delayFrom(FINISH_AFTER),
  ),
  stage(
    'pod-fail-on-node',
    'Pod',
    [notDeleted, phaseIs('Running'), { key: failsOnItsNode, operator: 'In', values: ['true'] }],
    { statusTemplate: podTerminated('Failed') },
    delayFrom(FINISH_AFTER),
  ),
  // A pod holding its owner's finalizer waits for the owner to remove it, as with a kubelet; one
  // annotated terminate-after stays terminating that long, as in a grace period.
  stage(
    'pod-delete',
    'Pod',
    [
      { key: '.metadata.deletionTimestamp', operator: 'Exists' },
      { key: holdsOwnerFinalizer, operator: 'NotIn', values: ['true'] },
    ],
    { finalizers: { empty: true }, delete: true },
    delayFrom(TERMINATE_AFTER),
  ),
];

export function kwokConfigYaml(leaseSeconds: number): string {
  const config = {
    apiVersion: 'config.kwok.x-k8s.io/v1alpha1',
    kind: 'KwokConfiguration',
    // kwok applies its defaults only through kwokctl; bare kwok needs the parallelism spelled out.
    options: {
      manageAllNodes: true,
      nodeLeaseDurationSeconds: leaseSeconds,
      nodeLeaseParallelism: 16,
      nodePlayStageParallelism: 8,
      podPlayStageParallelism: 16,
      podsOnNodeSyncParallelism: 8,
      cidr: '10.244.0.0/16',
      // kube-apiserver reaches a node's kubelet (for `kubectl logs`) at its InternalIP and
      // kubelet port: kwok's own server, on loopback.
      nodeIP: '127.0.0.1',
      enableDebuggingHandlers: true,
    },
  };
  return [config, ...stages, clusterLogs].map((d) => stringify(d)).join('---\n');
}
