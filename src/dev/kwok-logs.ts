// Pod logs on the local cluster. kube-apiserver serves `kubectl logs` by calling the kubelet of the
// pod's node; here that is kwok's server (the node's InternalIP 127.0.0.1 and its kubelet port, see
// kwok-stages.ts). kwok answers from a file named per pod (Logs) or per group of pods
// (ClusterLogs); no container runs, so every simulated pod gets the same recognisable line.
import { resolve } from 'node:path';

/** In CRI log format (`<RFC 3339 time> stdout F <line>`), the only format kwok reads. */
export const SIMULATED_POD_LOG = resolve(import.meta.dirname, '../../tools/kwok/simulated-pod-log.txt');
/** What `kubectl logs` prints for any container of a simulated pod. */
export const SIMULATED_LOG_TEXT = 'bosun dev: simulated pod, no container runs here';

/** kwok configuration: every container of every pod it manages logs SIMULATED_POD_LOG. */
export const clusterLogs = {
  apiVersion: 'kwok.x-k8s.io/v1alpha1',
  kind: 'ClusterLogs',
  metadata: { name: 'simulated-pods' },
  spec: { selector: {}, logs: [{ logsFile: SIMULATED_POD_LOG }] },
};
