// The processes of the local control plane and the flags they run with. Everything binds to
// 127.0.0.1; flags follow kwokctl's binary runtime, adapted to loopback (advertise address and no
// endpoint reconciler, since a loopback address may not back the `kubernetes` Service).
import { join } from 'node:path';
import type { Pki } from './pki.ts';

export type ComponentName = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok';
export const START_ORDER: ComponentName[] = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
];

export interface Ports {
  etcd: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
  kwok: number;
}

/**
 * kwok renews each node's Lease. The node controller's grace period covers three lease terms: with
 * thousands of nodes on a busy 2-core machine kwok falls behind on renewals (a median lease age
 * of 122 s at 5,000 nodes), and a single term marked half the nodes NotReady.
 */
export const NODE_LEASE_SECONDS = 200;
const NODE_MONITOR_GRACE_SECONDS = 3 * NODE_LEASE_SECONDS;

export interface ComponentSpec {
  name: ComponentName;
  args: string[];
  /** URL that answers 200 once the component is up. */
  health?: string;
}

export function componentSpecs(dir: string, ports: Ports, pki: Pki, kubeconfig: string): ComponentSpec[] {
  const loopback = '127.0.0.1';
  const etcdUrl = `http://${loopback}:${ports.etcd}`;
  const peerUrl = `http://${loopback}:${ports.etcdPeer}`;
  const fastClient = ['--kube-api-qps=1000', '--kube-api-burst=2000'];
  const probePaths = '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics';
  return [
    {
      name: 'etcd',
      args: [
        '--name=bosun-dev',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=bosun-dev=${peerUrl}`,
        '--quota-backend-bytes=8589934592',
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ],
      health: `${etcdUrl}/readyz`,
    },
    {
      name: 'kube-apiserver',
      args: [
        `--etcd-servers=${etcdUrl}`,
        '--etcd-prefix=/registry',
        `--bind-address=${loopback}`,
        `--advertise-address=${loopback}`,
        `--secure-port=${ports.apiserver}`,
        '--endpoint-reconciler-type=none',
        '--service-cluster-ip-range=10.0.0.0/24',
        `--tls-cert-file=${pki.cert}`,
        `--tls-private-key-file=${pki.key}`,
        `--client-ca-file=${pki.caCert}`,
        `--service-account-key-file=${pki.key}`,
        `--service-account-signing-key-file=${pki.key}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--proxy-client-cert-file=${pki.cert}`,
        `--proxy-client-key-file=${pki.key}`,
        '--authorization-mode=Node,RBAC',
        '--allow-privileged=true',
        // Node hostnames do not resolve; InternalIP is kwok's server (kubectl logs).
        '--kubelet-preferred-address-types=InternalIP',
      ],
      health: `https://${loopback}:${ports.apiserver}/readyz`,
    },
    {
      name: 'kube-controller-manager',
      args: [
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        `--bind-address=${loopback}`,
        `--secure-port=${ports.controllerManager}`,
        probePaths,
        `--root-ca-file=${pki.caCert}`,
        `--service-account-private-key-file=${pki.key}`,
        '--node-monitor-period=5s',
        `--node-monitor-grace-period=${NODE_MONITOR_GRACE_SECONDS}s`,
        '--leader-elect=false',
        ...fastClient,
      ],
      health: `https://${loopback}:${ports.controllerManager}/healthz`,
    },
    {
      name: 'kube-scheduler',
      args: [
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        `--bind-address=${loopback}`,
        `--secure-port=${ports.scheduler}`,
        probePaths,
        '--leader-elect=false',
        ...fastClient,
      ],
      health: `https://${loopback}:${ports.scheduler}/healthz`,
    },
    {
      name: 'kwok',
      args: [
        `--kubeconfig=${kubeconfig}`,
        `--config=${join(dir, 'kwok.yaml')}`,
        '--manage-all-nodes=true',
        `--node-lease-duration-seconds=${NODE_LEASE_SECONDS}`,
        `--tls-cert-file=${pki.cert}`,
        `--tls-private-key-file=${pki.key}`,
        '--node-name=localhost',
        `--node-port=${ports.kwok}`,
        `--server-address=${loopback}:${ports.kwok}`,
      ],
      health: `http://${loopback}:${ports.kwok}/healthz`,
    },
  ];
}

export function kubeconfigYaml(server: string, pki: Pki): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: bosun-dev
  cluster: {server: "${server}", certificate-authority: "${pki.caCert}"}
users:
- name: bosun-dev-admin
  user: {client-certificate: "${pki.cert}", client-key: "${pki.key}"}
contexts:
- name: bosun-dev
  context: {cluster: bosun-dev, user: bosun-dev-admin}
current-context: bosun-dev
`;
}
