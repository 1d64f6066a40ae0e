// Labels, annotations and the finalizer of per-node pods.
export const DAEMONJOB_LABEL = 'bosun.dev/daemonjob';
export const NODE_LABEL = 'bosun.dev/node';
export const TEMPLATE_HASH_LABEL = 'bosun.dev/template-hash';
/** Which try on its node a pod is: 0, then 1, 2… up to backoffLimit. */
export const ATTEMPT_LABEL = 'bosun.dev/attempt';
/** The full node name, when the label value had to be shortened. */
export const NODE_ANNOTATION = 'bosun.dev/node';
/** Keeps a finished per-node pod until its node's result is in the DaemonJob's status. */
export const NODE_RESULT_FINALIZER = 'bosun.dev/node-result';
/** With spec.labelNodes, on each node that succeeded: the label key's prefix; the value is the template hash. */
export const NODE_RESULT_LABEL_PREFIX = 'daemonjob.bosun.dev/';
/**
 * With spec.cordon, on a node this DaemonJob cordoned: `<namespace>.<name>`. Only a node carrying it
 * is ever uncordoned, so a node someone else cordoned stays as they left it.
 */
export const CORDONED_BY_ANNOTATION = 'daemonjob.bosun.dev/cordoned-by';
/** On a node left cordoned after it failed: why. Deleting the DaemonJob uncordons only nodes without it. */
export const LEFT_CORDONED_ANNOTATION = 'daemonjob.bosun.dev/left-cordoned';
/** The annotation kubelets put on mirror pods (static pods), which cannot be evicted. */
export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';
